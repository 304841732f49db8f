import { readFileSync } from 'node:fs';

export interface InterfaceTotals {
  rxBytes: number;
  rxPackets: number;
  /** Packets the driver or the stack's backlog dropped: a link saturated beyond what the host takes in. */
  rxDropped: number;
}

/** /proc/net/dev summed over every interface except loopback. */
export function parseNetDev(text: string): InterfaceTotals {
  const t: InterfaceTotals = { rxBytes: 0, rxPackets: 0, rxDropped: 0 };
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    if (name === 'lo' || name === '' || name.includes('|')) continue;
    const f = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    if (f.length < 4 || f.some((n) => !Number.isFinite(n))) continue;
    t.rxBytes += f[0]!;
    t.rxPackets += f[1]!;
    t.rxDropped += f[3]!;
  }
  return t;
}

/** Synchronous for the same reason as readKernelCounters. */
export function readNetDev(path = '/proc/net/dev'): InterfaceTotals {
  return parseNetDev(readFileSync(path, 'utf8'));
}

export function netDevRates(prev: InterfaceTotals, cur: InterfaceTotals, intervalMs: number): Record<string, number> {
  const per = 1000 / Math.max(1, intervalMs);
  const d = (a: number, b: number): number => Math.max(0, b - a) * per;
  return {
    rx_pps: d(prev.rxPackets, cur.rxPackets),
    rx_bps: d(prev.rxBytes, cur.rxBytes) * 8,
    rx_drop_ps: d(prev.rxDropped, cur.rxDropped),
  };
}
