import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { Logger } from '@portcullis/shared';
import { networkAddress, parseTrustEntry, type TrustEntry } from '../config/trust-entries.js';

export interface TrustedNet {
  family: 4 | 6;
  addr: string;
  prefix: number;
}

/** Addresses flowmon never drops or limits: loopback, the host's own addresses, ignoreip. */
export interface Trusted {
  readonly nets: readonly TrustedNet[];
  has(ip: string): boolean;
}

export function createTrusted(nets: TrustedNet[]): Trusted {
  const list = new BlockList();
  const outer = outermost(nets);
  for (const n of outer) list.addSubnet(n.addr, n.prefix, n.family === 4 ? 'ipv4' : 'ipv6');
  return {
    nets: outer,
    has(ip: string): boolean {
      const family = isIP(ip);
      if (family === 0) return false;
      return list.check(ip, family === 4 ? 'ipv4' : 'ipv6');
    },
  };
}

/**
 * The networks not inside another one of the list: an nftables interval set refuses overlapping
 * elements, and two prefixes either nest or are disjoint.
 */
export function outermost(nets: readonly TrustedNet[]): TrustedNet[] {
  const sorted = [...nets].map((n) => ({ ...n, addr: networkAddress(n.addr, n.family, n.prefix) })).sort((a, b) => a.prefix - b.prefix);
  const out: TrustedNet[] = [];
  for (const n of sorted) {
    const covered = out.some((o) => o.family === n.family && o.prefix <= n.prefix && networkAddress(n.addr, n.family, o.prefix) === o.addr);
    if (!covered) out.push(n);
  }
  return out;
}

export const LOOPBACK: TrustedNet[] = [
  { family: 4, addr: '127.0.0.0', prefix: 8 },
  { family: 6, addr: '::1', prefix: 128 },
];

/** Every address of every interface, as seen from this process' network namespace. */
export function hostAddresses(): TrustedNet[] {
  const out: TrustedNet[] = [];
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) {
      const family = a.family === 'IPv4' ? 4 : 6;
      // Link-local scope ids (fe80::1%eth0) are not part of the address.
      out.push({ family, addr: a.address.replace(/%.*$/, ''), prefix: family === 4 ? 32 : 128 });
    }
  }
  return out;
}

/**
 * Loopback, the host's addresses and the ignoreip entries; host names are resolved now (a name
 * that does not resolve within `timeoutMs` is logged and skipped, never fatal).
 */
export async function resolveTrusted(ignoreip: readonly string[], log: Logger, timeoutMs = 3000): Promise<Trusted> {
  const nets: TrustedNet[] = [...LOOPBACK, ...hostAddresses()];
  const names: string[] = [];
  for (const text of ignoreip) {
    const e: TrustEntry | string = parseTrustEntry(text);
    if (typeof e === 'string') continue; // validated at load
    if (e.kind === 'net') nets.push({ family: e.family, addr: e.addr, prefix: e.prefix });
    else names.push(e.name);
  }
  await Promise.all(
    names.map(async (name) => {
      try {
        const found = await Promise.race([
          lookup(name, { all: true }),
          new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs).unref()),
        ]);
        for (const a of found) nets.push({ family: a.family === 6 ? 6 : 4, addr: a.address, prefix: a.family === 6 ? 128 : 32 });
      } catch (e) {
        log.warn({ name, err: e instanceof Error ? e.message : String(e) }, 'ignoreip host name does not resolve; not trusted');
      }
    }),
  );
  return createTrusted(nets);
}
