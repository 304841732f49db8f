import { createHash } from 'node:crypto';
import { PortcullisError } from '@portcullis/shared';
import { decodeJailName, encodeJailName } from '../names.js';

/** XT_EXTENSION_MAXNAMELEN (29) less the terminating NUL. */
export const MAX_CHAIN_NAME = 28;
/** IPSET_MAXNAMELEN (32) less the terminating NUL. */
export const MAX_SET_NAME = 31;

const PLAIN_JAIL = /^[A-Za-z0-9_.-]+$/;
/** fail2ban's chain and set prefix, so `iptables -L -n` and `ipset list` look as users know them. */
const PREFIX = 'f2b-';
/** The longest jail name that fits `f2b-<jail>` as a chain and `f2b-<jail>6` as a set. */
const MAX_PLAIN_JAIL = MAX_CHAIN_NAME - PREFIX.length;
const OWNER_RE = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;

export interface JailNames {
  jail: string;
  /** The jail's chain in both the iptables and ip6tables filter tables. */
  chain: string;
  /** ipset names: fail2ban's `f2b-<name>` and `f2b-<name>6`. */
  set4: string;
  set6: string;
}

/**
 * fail2ban's names for a jail: chain `f2b-<jail>`, sets `f2b-<jail>` and `f2b-<jail>6`. A jail name
 * that does not fit (28 bytes for a chain) or holds other characters becomes a readable prefix plus
 * a hash; the rule comments (see commentFor) say which jail a chain belongs to either way.
 */
export function jailNames(jail: string): JailNames {
  if (jail.length === 0) throw new PortcullisError('PC_CONFIG_INVALID', 'jail name is empty');
  let chain: string;
  if (PLAIN_JAIL.test(jail) && jail.length <= MAX_PLAIN_JAIL) {
    chain = PREFIX + jail;
  } else {
    const hash = createHash('sha256').update(jail).digest('hex').slice(0, 8);
    const readable = jail.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, MAX_PLAIN_JAIL - hash.length - 1);
    chain = `${PREFIX}${readable}-${hash}`;
  }
  return { jail, chain, set4: chain, set6: `${chain}6` };
}

export function assertOwner(owner: string): void {
  if (!OWNER_RE.test(owner)) {
    throw new PortcullisError('PC_CONFIG_INVALID', `iptables owner tag "${owner}" must be a letter or _, then letters, digits, _ or - (at most 64)`);
  }
}

/** The comment on every rule we add: `<owner>:<encoded jail>`, so ownership is read back from the kernel. */
export function commentFor(owner: string, jail: string): string {
  return `${owner}:${encodeJailName(jail)}`;
}

/** The jail a rule comment names, when the comment is one of ours. */
export function jailFromComment(owner: string, comment: string): string | undefined {
  const prefix = `${owner}:`;
  if (!comment.startsWith(prefix)) return undefined;
  return decodeJailName(comment.slice(prefix.length));
}
