import { isIP } from 'node:net';
import { PortcullisError } from '@portcullis/shared';
import { normalizeIp, parseCidr } from './normalize-ip.js';

/**
 * A fleet-wide trusted entry (an address or a CIDR range) in its canonical spelling, and as the
 * network the store's Lua matcher uses: eight 16-bit groups and a prefix length, IPv4 in its
 * IPv4-mapped IPv6 form (so an IPv4 range is ::ffff:a.b.c.d/96+n, and an IPv6 range written over
 * mapped addresses covers the IPv4 addresses it maps, as in the ignoreip matcher).
 */
export interface TrustNetwork {
  /** `192.0.2.7`, `192.0.2.0/24`, `2001:db8::/32`: host bits of a range cleared. */
  entry: string;
  groups: number[];
  prefix: number;
}

export function trustNetwork(text: string): TrustNetwork {
  const s = typeof text === 'string' ? text.trim() : '';
  if (!s.includes('/')) {
    const ip = normalizeIp(s);
    return { entry: ip, groups: addressGroups(ip), prefix: 128 };
  }
  const cidr = parseCidr(s);
  if (cidr.family === 'ipv4') {
    const groups = maskGroups(addressGroups(cidr.address), 96 + cidr.prefix);
    const [hi = 0, lo = 0] = groups.slice(6);
    const dotted = `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
    return { entry: `${dotted}/${cidr.prefix}`, groups, prefix: 96 + cidr.prefix };
  }
  const groups = maskGroups(addressGroups(cidr.address), cidr.prefix);
  const canonical = new URL(`http://[${groups.map((g) => g.toString(16)).join(':')}]/`).hostname.slice(1, -1);
  return { entry: `${canonical}/${cidr.prefix}`, groups, prefix: cidr.prefix };
}

/** Eight 16-bit groups of a canonical address; IPv4 as ::ffff:a.b.c.d. */
export function addressGroups(ip: string): number[] {
  if (isIP(ip) === 4) {
    const [a = 0, b = 0, c = 0, d = 0] = ip.split('.').map(Number);
    return [0, 0, 0, 0, 0, 0xffff, a * 256 + b, c * 256 + d];
  }
  if (isIP(ip) !== 6) throw new PortcullisError('PC_ADDRESS_INVALID', `${JSON.stringify(ip)} is not a valid IPv4 or IPv6 address`);
  const full = new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  const [head = '', tail] = full.split('::');
  const part = (x: string): number[] => (x === '' ? [] : x.split(':').map((g) => parseInt(g, 16)));
  const h = part(head);
  if (tail === undefined) return h;
  const t = part(tail);
  return [...h, ...Array<number>(8 - h.length - t.length).fill(0), ...t];
}

function maskGroups(groups: number[], prefix: number): number[] {
  return groups.map((g, i) => {
    const bits = Math.min(16, Math.max(0, prefix - 16 * i));
    return bits === 0 ? 0 : g & (0xffff << (16 - bits)) & 0xffff;
  });
}
