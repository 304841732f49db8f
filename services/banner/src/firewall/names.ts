import { PortcullisError } from '@portcullis/shared';

/** nft identifiers (scanner.l `string`): a letter, `_` or `.` first, then letters, digits, `/ - _ .`. */
const NFT_IDENTIFIER = /^[A-Za-z_.][A-Za-z0-9/_.-]*$/;
/** NFT_NAME_MAXLEN / NFT_SET_MAXNAMELEN are 256 bytes including the terminating NUL. */
const NFT_MAX_NAME = 255;

const SET_SUFFIX = /^(.+)-v([46])$/;

export function assertNftIdentifier(name: string, what: string): void {
  if (!NFT_IDENTIFIER.test(name) || name.length > NFT_MAX_NAME) {
    throw new PortcullisError(
      'PC_CONFIG_INVALID',
      `${what} "${name}" is not a valid nft name (a letter or _ first, then letters, digits, _ . - /; at most ${NFT_MAX_NAME})`,
    );
  }
}

/**
 * The jail part of a set name. Letters, digits, `_` and `-` are kept; every other byte (and a
 * leading digit or `-`) becomes `.xx` (UTF-8 hex). `.` only ever starts an escape, so the encoding
 * is reversible and therefore collision-free, and always a valid nft identifier.
 */
export function encodeJailName(jail: string): string {
  if (jail.length === 0) throw new PortcullisError('PC_CONFIG_INVALID', 'jail name is empty');
  let out = '';
  for (const ch of jail) {
    const plain = /[A-Za-z0-9_-]/.test(ch) && !(out.length === 0 && /[0-9-]/.test(ch));
    out += plain ? ch : [...Buffer.from(ch, 'utf8')].map((b) => `.${b.toString(16).padStart(2, '0')}`).join('');
  }
  return out;
}

/** The inverse of encodeJailName; undefined for names it cannot have produced. */
export function decodeJailName(encoded: string): string | undefined {
  const bytes: number[] = [];
  for (let i = 0; i < encoded.length; ) {
    const ch = encoded[i]!;
    if (ch === '.') {
      const hex = encoded.slice(i + 1, i + 3);
      if (!/^[0-9a-f]{2}$/.test(hex)) return undefined;
      bytes.push(parseInt(hex, 16));
      i += 3;
    } else if (/[A-Za-z0-9_-]/.test(ch)) {
      bytes.push(ch.charCodeAt(0));
      i += 1;
    } else {
      return undefined;
    }
  }
  const jail = Buffer.from(bytes).toString('utf8');
  return encodeJailName(jail) === encoded ? jail : undefined;
}

export function jailSetName(jail: string, family: 4 | 6): string {
  const name = `${encodeJailName(jail)}-v${family}`;
  if (name.length > NFT_MAX_NAME) {
    throw new PortcullisError('PC_CONFIG_INVALID', `jail name "${jail.slice(0, 40)}..." is too long for an nft set name`);
  }
  return name;
}

/** Which jail and family a set of our table belongs to; undefined for sets we did not name. */
export function parseJailSetName(name: string): { jail: string; family: 4 | 6 } | undefined {
  const m = SET_SUFFIX.exec(name);
  if (!m) return undefined;
  const jail = decodeJailName(m[1]!);
  return jail === undefined ? undefined : { jail, family: m[2] === '4' ? 4 : 6 };
}
