import { readFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import { bytesToAddress } from '../config/trust-entries.js';

/** One established TCP connection as /proc/net/tcp{,6} shows it, from the local side. */
export interface TcpConn {
  localPort: number;
  remote: string;
  remotePort: number;
}

const ESTABLISHED = '01';
const LITTLE_ENDIAN = endianness() === 'LE';

/**
 * Established connections whose local port is in `ports`, from /proc/net/tcp or /proc/net/tcp6
 * text. Addresses are printed as 32-bit words in host byte order; IPv4-mapped IPv6 remotes
 * (a dual-stack listener) come back as plain IPv4.
 */
export function parseProcTcp(text: string, ports: ReadonlySet<number>, littleEndian = LITTLE_ENDIAN): TcpConn[] {
  const out: TcpConn[] = [];
  let start = text.indexOf('\n') + 1; // header line
  while (start > 0 && start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end);
    start = end + 1;
    const f = line.trim().split(/\s+/);
    if (f.length < 4 || f[3] !== ESTABLISHED) continue;
    const [localHex, localPortHex] = (f[1] ?? '').split(':');
    const [remHex, remPortHex] = (f[2] ?? '').split(':');
    if (!localHex || !localPortHex || !remHex || !remPortHex) continue;
    const localPort = parseInt(localPortHex, 16);
    if (!ports.has(localPort)) continue;
    const remote = hexAddress(remHex, littleEndian);
    if (remote === undefined) continue;
    out.push({ localPort, remote, remotePort: parseInt(remPortHex, 16) });
  }
  return out;
}

function hexAddress(hex: string, littleEndian: boolean): string | undefined {
  if (hex.length !== 8 && hex.length !== 32) return undefined;
  const bytes: number[] = [];
  for (let w = 0; w < hex.length; w += 8) {
    const word = [0, 2, 4, 6].map((i) => parseInt(hex.slice(w + i, w + i + 2), 16));
    if (word.some((b) => Number.isNaN(b))) return undefined;
    bytes.push(...(littleEndian ? word.reverse() : word));
  }
  if (bytes.length === 4) return bytesToAddress(bytes, 4);
  const mapped = bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  return mapped ? bytesToAddress(bytes.slice(12), 4) : bytesToAddress(bytes, 6);
}

export async function readTcpConns(ports: ReadonlySet<number>, paths = ['/proc/net/tcp', '/proc/net/tcp6']): Promise<TcpConn[]> {
  const out: TcpConn[] = [];
  for (const p of paths) {
    let text: string;
    try {
      text = await readFile(p, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw e;
    }
    out.push(...parseProcTcp(text, ports));
  }
  return out;
}

export interface ConnSummary {
  /** Established connections to the service ports. */
  total: number;
  /** Per source: connections that have existed for at least the minimum age. */
  longLived: Map<string, number>;
}

/**
 * Remembers when each connection was first seen, so "long-lived" can be told without the kernel
 * giving a connection's age. A connection that disappears is forgotten.
 */
export class ConnAges {
  private firstSeen = new Map<string, number>();

  update(conns: readonly TcpConn[], now: number, minAgeMs: number): ConnSummary {
    const next = new Map<string, number>();
    const longLived = new Map<string, number>();
    for (const c of conns) {
      const key = `${c.localPort}|${c.remote}|${c.remotePort}`;
      const since = this.firstSeen.get(key) ?? now;
      next.set(key, since);
      if (now - since >= minAgeMs) longLived.set(c.remote, (longLived.get(c.remote) ?? 0) + 1);
    }
    this.firstSeen = next;
    return { total: conns.length, longLived };
  }
}
