import type { IpFamily } from './normalize-ip.js';

interface V6Range {
  /** The network's eight groups, host bits cleared. */
  net: number[];
  /** Per group, the mask of the bits the prefix covers. */
  mask: number[];
}

/**
 * Trusted addresses and CIDR ranges, for canonical addresses (normalizeIp). The same answers as
 * node:net's BlockList as the trust lists used it (an IPv4 address is also looked up in IPv6 ranges
 * in its IPv4-mapped form), without BlockList's SocketAddress per check: a mass ban asks for every
 * address several times, and those checks were a good part of a 50,000-address ban's CPU time.
 * An empty set, or one without ranges of the address' family, answers without parsing anything.
 */
export class AddressSet {
  private readonly exact = new Set<string>();
  private readonly v4: { net: number; mask: number }[] = [];
  private readonly v6: V6Range[] = [];

  /** A canonical address. */
  addAddress(ip: string): void {
    this.exact.add(ip);
  }

  /** A canonical network address (host bits may be set; they are ignored) and its prefix length. */
  addSubnet(address: string, prefix: number, family: IpFamily): void {
    // a whole-length prefix is one address (ignoreself's ::1/128): a set lookup, no parsing
    if (prefix === (family === 'ipv4' ? 32 : 128) && !address.startsWith('::ffff:')) {
      this.exact.add(address);
      return;
    }
    if (family === 'ipv4') {
      const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
      this.v4.push({ net: (ipv4Number(address) & mask) >>> 0, mask });
      return;
    }
    const groups = ipv6Groups(address);
    const mask = groups.map((_, i) => {
      const bits = Math.max(0, Math.min(16, prefix - 16 * i));
      return bits === 0 ? 0 : (0xffff << (16 - bits)) & 0xffff;
    });
    this.v6.push({ net: groups.map((g, i) => g & mask[i]!), mask });
  }

  get size(): number {
    return this.exact.size + this.v4.length + this.v6.length;
  }

  /** Whether a canonical address is listed or inside a listed range. */
  has(ip: string): boolean {
    if (this.exact.has(ip)) return true;
    if (ip.includes(':')) return this.v6.length > 0 && inV6(this.v6, ipv6Groups(ip));
    if (this.v4.length > 0) {
      const n = ipv4Number(ip);
      for (const r of this.v4) if (((n & r.mask) >>> 0) === r.net) return true;
    }
    if (this.v6.length > 0) {
      const n = ipv4Number(ip);
      return inV6(this.v6, [0, 0, 0, 0, 0, 0xffff, n >>> 16, n & 0xffff]);
    }
    return false;
  }
}

function inV6(ranges: readonly V6Range[], g: readonly number[]): boolean {
  next: for (const r of ranges) {
    for (let i = 0; i < 8; i++) if ((g[i]! & r.mask[i]!) !== r.net[i]) continue next;
    return true;
  }
  return false;
}

function ipv4Number(ip: string): number {
  const p = ip.split('.');
  return ((Number(p[0]) << 24) | (Number(p[1]) << 16) | (Number(p[2]) << 8) | Number(p[3])) >>> 0;
}

/** The eight 16-bit groups of a valid IPv6 address (as normalizeIp or parseCidr wrote it), embedded IPv4 tail included. */
function ipv6Groups(s: string): number[] {
  let text = s;
  let tail: number[] = [];
  if (text.includes('.')) {
    const cut = text.lastIndexOf(':');
    const v4 = ipv4Number(text.slice(cut + 1));
    tail = [v4 >>> 16, v4 & 0xffff];
    // keep "::" whole when the IPv4 part follows it directly ("::192.0.2.1")
    text = text.slice(0, text[cut - 1] === ':' ? cut + 1 : cut);
  }
  const gap = text.indexOf('::');
  const parse = (part: string): number[] => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const head = parse(gap < 0 ? text : text.slice(0, gap));
  const rest = gap < 0 ? [] : parse(text.slice(gap + 2));
  const zeros = 8 - head.length - rest.length - tail.length;
  for (let i = 0; i < zeros; i++) head.push(0);
  return [...head, ...rest, ...tail];
}
