import { readFile } from 'node:fs/promises';

/**
 * Parses /proc/net/snmp (and /proc/net/netstat, same layout): pairs of lines "Proto: names..." and
 * "Proto: values...". Returns "Proto.Name" -> value.
 */
export function parseSnmp(text: string): Map<string, number> {
  const out = new Map<string, number>();
  const lines = text.split('\n');
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const head = lines[i]!.trim().split(/\s+/);
    const vals = lines[i + 1]!.trim().split(/\s+/);
    const proto = head[0]?.replace(/:$/, '');
    if (!proto || vals[0]?.replace(/:$/, '') !== proto) continue;
    for (let k = 1; k < head.length; k++) {
      const v = Number(vals[k]);
      if (Number.isFinite(v)) out.set(`${proto}.${head[k]}`, v);
    }
  }
  return out;
}

export async function readKernelCounters(paths = ['/proc/net/snmp', '/proc/net/netstat']): Promise<Map<string, number>> {
  const all = new Map<string, number>();
  for (const p of paths) {
    const m = parseSnmp(await readFile(p, 'utf8'));
    for (const [k, v] of m) all.set(k, v);
  }
  return all;
}

/** The counters the sample reports, as per-second rates. */
export const SAMPLED_COUNTERS: Record<string, string> = {
  udp_in_ps: 'Udp.InDatagrams',
  udp_noports_ps: 'Udp.NoPorts',
  tcp_passive_opens_ps: 'Tcp.PassiveOpens',
  icmp_in_ps: 'Icmp.InMsgs',
  ip_in_ps: 'Ip.InReceives',
  syncookies_sent_ps: 'TcpExt.SyncookiesSent',
};

export function ratesBetween(prev: Map<string, number>, cur: Map<string, number>, intervalMs: number): Record<string, number> {
  const rates: Record<string, number> = {};
  for (const [metric, key] of Object.entries(SAMPLED_COUNTERS)) {
    const a = prev.get(key);
    const b = cur.get(key);
    if (a === undefined || b === undefined) continue;
    // Counters wrap or reset (namespace re-created): never report a negative rate.
    rates[metric] = Math.max(0, ((b - a) * 1000) / intervalMs);
  }
  return rates;
}
