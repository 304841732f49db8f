import { isIP } from 'node:net';
import { PortcullisError } from '@portcullis/shared';

export type IpFamily = 'ipv4' | 'ipv6';

export interface Cidr {
  /** Canonical network address as written (host bits are masked by the matcher). */
  address: string;
  prefix: number;
  family: IpFamily;
}

/**
 * Validates an address and returns its one canonical spelling, so the same host always maps to
 * the same ban key: IPv6 lower-case and compressed (RFC 5952), IPv4-mapped IPv6 as plain IPv4.
 * Surrounding whitespace and [brackets] are accepted; zone ids (fe80::1%eth0) are not, they
 * cannot be banned.
 */
export function normalizeIp(text: string): string {
  if (typeof text === 'string') {
    const known = recent.get(text) ?? older.get(text);
    if (known !== undefined) return known;
  }
  const s = typeof text === 'string' ? unbracket(text.trim()) : '';
  const family = isIP(s);
  let canonical: string;
  if (family === 4) canonical = s;
  else if (family === 6 && !s.includes('%')) canonical = unmapIpv6(canonicalIpv6(s));
  else throw invalid(text);
  if (recent.size >= MEMO_GENERATION) {
    older = recent;
    recent = new Map();
  }
  recent.set(text, canonical);
  return canonical;
}

/**
 * Spellings normalised lately, in two generations (at most twice this many entries). An address
 * is normalised at every layer it passes (request, trust lists, store, enforcement, firewall
 * backends), and isIP's IPv6 pattern plus the URL parser cost a 50,000-address ban about a second
 * of CPU that way; a lookup costs next to nothing.
 */
const MEMO_GENERATION = 65_536;
let recent = new Map<string, string>();
let older = new Map<string, string>();

export function ipFamily(canonical: string): IpFamily {
  return canonical.includes(':') ? 'ipv6' : 'ipv4';
}

/**
 * `address/prefix`, or for IPv4 `address/dotted-netmask` as fail2ban accepts. An IPv6 range is
 * kept as IPv6 even when written with a mapped address: the matcher checks IPv4 addresses in their
 * mapped form as well.
 */
export function parseCidr(text: string): Cidr {
  const s = typeof text === 'string' ? text.trim() : '';
  const slash = s.indexOf('/');
  if (slash < 0) throw invalid(text);
  const addrText = unbracket(s.slice(0, slash));
  const bits = s.slice(slash + 1);
  const family = isIP(addrText);
  if (family === 0 || addrText.includes('%')) throw invalid(text);
  const address = family === 4 ? addrText : canonicalIpv6(addrText);
  const max = family === 4 ? 32 : 128;
  let prefix: number;
  if (/^\d{1,3}$/.test(bits)) prefix = Number(bits);
  else if (family === 4 && isIP(bits) === 4) prefix = netmaskPrefix(bits, text);
  else throw invalid(text, 'bad prefix length');
  if (prefix > max) throw invalid(text, `prefix length above ${max}`);
  return { address, prefix, family: family === 4 ? 'ipv4' : 'ipv6' };
}

/** The IPv4-mapped IPv6 spelling of a canonical IPv4 address. */
export function mappedIpv6(ipv4: string): string {
  return `::ffff:${ipv4}`;
}

function unbracket(s: string): string {
  return s.startsWith('[') && s.endsWith(']') ? s.slice(1, -1) : s;
}

/** The WHATWG URL host serializer implements RFC 5952 compression and lower-casing. */
function canonicalIpv6(s: string): string {
  return new URL(`http://[${s}]/`).hostname.slice(1, -1);
}

function unmapIpv6(canonical: string): string {
  const m = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
  if (!m) return canonical;
  const hi = parseInt(m[1] ?? '0', 16);
  const lo = parseInt(m[2] ?? '0', 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

function netmaskPrefix(mask: string, text: string): number {
  const n = mask.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
  const inverted = 0xffffffff - n;
  // a contiguous mask is ones then zeros: its complement plus one is a power of two
  if ((inverted & (inverted + 1)) !== 0) throw invalid(text, 'netmask is not contiguous');
  return 32 - Math.log2(inverted + 1);
}

function invalid(text: unknown, why?: string): PortcullisError {
  const shown = JSON.stringify(String(text).slice(0, 100));
  return new PortcullisError('PC_ADDRESS_INVALID', `${shown} is not a valid IPv4 or IPv6 address${why ? ` (${why})` : ''}`);
}
