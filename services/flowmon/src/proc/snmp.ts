import { readFileSync } from 'node:fs';

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

/** /proc/net/snmp6: one "Name value" per line (Icmp6InMsgs, Udp6NoPorts, ...), stored as "snmp6.Name". */
export function parseSnmp6(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [name, value] = line.trim().split(/\s+/);
    if (!name || value === undefined) continue;
    const v = Number(value);
    if (Number.isFinite(v)) out.set(`snmp6.${name}`, v);
  }
  return out;
}

export const PROC_PATHS = { snmp: '/proc/net/snmp', netstat: '/proc/net/netstat', snmp6: '/proc/net/snmp6' };

/**
 * The kernel's protocol counters; a missing file (no IPv6) is skipped. Read synchronously: these
 * files are a few kilobytes and a synchronous read costs ~0.05 ms where the thread pool round
 * trip of an asynchronous one costs 0.2-0.4 ms, several times a second.
 */
export function readKernelCounters(paths: Partial<typeof PROC_PATHS> = PROC_PATHS): Map<string, number> {
  const all = new Map<string, number>();
  const read = (p: string | undefined, parse: (t: string) => Map<string, number>): void => {
    if (!p) return;
    let text: string;
    try {
      text = readFileSync(p, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    for (const [k, v] of parse(text)) all.set(k, v);
  };
  read(paths.snmp, parseSnmp);
  read(paths.netstat, parseSnmp);
  read(paths.snmp6, parseSnmp6);
  return all;
}

/** The counters the sample reports, as per-second rates (several keys are summed). */
export const SAMPLED_COUNTERS: Record<string, readonly string[]> = {
  udp_in_ps: ['Udp.InDatagrams', 'snmp6.Udp6InDatagrams'],
  /** A UDP flood to a closed port shows here and nowhere else in the kernel's counters. */
  udp_noports_ps: ['Udp.NoPorts', 'snmp6.Udp6NoPorts'],
  udp_rcvbuf_errors_ps: ['Udp.RcvbufErrors', 'snmp6.Udp6RcvbufErrors'],
  tcp_passive_opens_ps: ['Tcp.PassiveOpens'],
  icmp_in_ps: ['Icmp.InMsgs', 'snmp6.Icmp6InMsgs'],
  ip_in_ps: ['Ip.InReceives', 'snmp6.Ip6InReceives'],
  /** A SYN flood against a listener whose queue is full shows here. */
  syncookies_sent_ps: ['TcpExt.SyncookiesSent'],
  listen_drops_ps: ['TcpExt.ListenDrops'],
};

export function ratesBetween(prev: Map<string, number>, cur: Map<string, number>, intervalMs: number): Record<string, number> {
  const rates: Record<string, number> = {};
  for (const [metric, keys] of Object.entries(SAMPLED_COUNTERS)) {
    let delta = 0;
    let seen = false;
    for (const key of keys) {
      const a = prev.get(key);
      const b = cur.get(key);
      if (a === undefined || b === undefined) continue;
      seen = true;
      // Counters wrap or reset (namespace re-created): never report a negative rate.
      delta += Math.max(0, b - a);
    }
    if (seen) rates[metric] = (delta * 1000) / Math.max(1, intervalMs);
  }
  return rates;
}
