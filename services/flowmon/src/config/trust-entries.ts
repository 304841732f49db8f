import { isIP } from 'node:net';
import type { SourceRef } from '@portcullis/shared';
import { invalidOption } from './service-ports.js';

/** One ignoreip entry: a network (an address is a /32 or /128) or a host name resolved at start. */
export type TrustEntry = { kind: 'net'; family: 4 | 6; addr: string; prefix: number } | { kind: 'host'; name: string };

const HOST_RE = /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;

/** The forms fail2ban's ignoreip takes: address, [v6 address], address/prefix, address/netmask, host name. */
export function parseTrustEntry(text: string): TrustEntry | string {
  const bare = text.length > 2 && text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  const slash = bare.indexOf('/');
  const addr = slash < 0 ? bare : bare.slice(0, slash);
  const family = isIP(addr);
  if (family === 0) {
    if (slash >= 0) return `has "${addr}" before "/", which is not an IP address`;
    if (/^[\d.]+$/.test(bare) || bare.includes(':')) return 'is not a valid IP address';
    if (!HOST_RE.test(bare)) return 'is neither an IP address nor a host name';
    return { kind: 'host', name: bare };
  }
  const bits = family === 4 ? 32 : 128;
  let prefix = bits;
  if (slash >= 0) {
    const mask = bare.slice(slash + 1);
    if (/^\d{1,3}$/.test(mask)) prefix = Number(mask);
    else if (isIP(mask) === family) prefix = maskToPrefix(mask, family as 4 | 6) ?? -1;
    else prefix = -1;
    if (prefix < 0 || prefix > bits) return `has "${mask}" after "/", which is neither a prefix length (0-${bits}) nor a contiguous netmask`;
  }
  return { kind: 'net', family: family as 4 | 6, addr: networkAddress(addr, family as 4 | 6, prefix), prefix };
}

export function checkTrustEntry(text: string, ref?: SourceRef): TrustEntry {
  const parsed = parseTrustEntry(text);
  if (typeof parsed === 'string') {
    throw invalidOption(ref, `ignoreip entry ${JSON.stringify(text)} ${parsed}: use an IPv4/IPv6 address, a CIDR range such as 192.0.2.0/24, or a host name`);
  }
  return parsed;
}

/** The address as 16 (v6) or 4 (v4) bytes. */
export function addressBytes(addr: string, family: 4 | 6): number[] {
  if (family === 4) return addr.split('.').map(Number);
  const [head = '', tail] = addr.split('::');
  const groups = (s: string): string[] => (s === '' ? [] : s.split(':'));
  let h = groups(head);
  let t = tail === undefined ? [] : groups(tail);
  // An embedded IPv4 tail (::ffff:192.0.2.1) is two groups.
  const fix = (g: string[]): string[] => g.flatMap((x) => (x.includes('.') ? v4Groups(x) : [x]));
  h = fix(h);
  t = fix(t);
  const fill = tail === undefined ? [] : new Array<string>(8 - h.length - t.length).fill('0');
  return [...h, ...fill, ...t].flatMap((g) => {
    const n = parseInt(g, 16);
    return [n >> 8, n & 255];
  });
}

function v4Groups(v4: string): string[] {
  const b = v4.split('.').map(Number);
  return [(((b[0] ?? 0) << 8) | (b[1] ?? 0)).toString(16), (((b[2] ?? 0) << 8) | (b[3] ?? 0)).toString(16)];
}

export function bytesToAddress(bytes: number[], family: 4 | 6): string {
  if (family === 4) return bytes.join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  // Compress the longest run of zero groups, as inet_ntop does.
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

/** `addr` with the host bits cleared: nftables refuses a prefix whose host bits are set. */
export function networkAddress(addr: string, family: 4 | 6, prefix: number): string {
  const bytes = addressBytes(addr, family);
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, prefix - i * 8));
    bytes[i] = (bytes[i] ?? 0) & ((0xff << (8 - keep)) & 0xff);
  }
  return bytesToAddress(bytes, family);
}

function maskToPrefix(mask: string, family: 4 | 6): number | undefined {
  const bits = addressBytes(mask, family)
    .map((b) => b.toString(2).padStart(8, '0'))
    .join('');
  return /^1*0*$/.test(bits) ? bits.indexOf('0') === -1 ? bits.length : bits.indexOf('0') : undefined;
}
