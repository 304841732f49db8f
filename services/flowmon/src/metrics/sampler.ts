import type { NftClient } from '@portcullis/shared';
import type { ServicePort } from '../config/service-ports.js';
import { newConnMetric, portMetric } from '../detect/signals.js';
import { CLASS_COUNTERS, classCounter, portCounter, type ClassCounter } from '../nft/measure-table.js';
import { readCounters, type CounterValue } from '../nft/read-nft.js';
import { netDevRates, readNetDev, type InterfaceTotals } from '../proc/net-dev.js';
import { ratesBetween, readKernelCounters } from '../proc/snmp.js';

/** Everything read at one instant. */
export interface Reading {
  /** performance.now() of the read: rates use a monotonic clock. */
  mono: number;
  nft: Map<string, CounterValue> | undefined;
  kernel: Map<string, number>;
  dev: InterfaceTotals;
}

const CLASS_METRIC: Record<ClassCounter, string> = {
  all: 'all_pps',
  tcp: 'tcp_pps',
  syn: 'tcp_syn_pps',
  udp: 'udp_pps',
  dns: 'dns_resp_pps',
  icmp: 'icmp_pps',
  other: 'other_pps',
  tcp_oos: 'tcp_oos_pps',
};

export interface SamplerOptions {
  /** Absent: nftables is not usable; only the kernel's /proc counters are read. */
  client: NftClient | undefined;
  table: string;
  ports: readonly ServicePort[];
}

/** Reads the measuring table's counters and /proc's, and turns two readings into per-second rates. */
export class Sampler {
  private readonly portCounters: { counter: string; metric: string }[];

  constructor(private readonly opts: SamplerOptions) {
    this.portCounters = opts.ports.flatMap((p) => [
      { counter: portCounter('p', p), metric: portMetric(p.proto, p.port) },
      ...(p.proto === 'tcp' ? [{ counter: portCounter('n', p), metric: newConnMetric(p.port) }] : []),
    ]);
  }

  get hasNft(): boolean {
    return this.opts.client !== undefined;
  }

  async read(): Promise<Reading> {
    const nft = this.opts.client ? await readCounters(this.opts.client, this.opts.table) : undefined;
    const mono = performance.now();
    return { mono, nft, kernel: readKernelCounters(), dev: readNetDev() };
  }

  rates(prev: Reading, cur: Reading): { rates: Record<string, number>; dtMs: number } {
    const dtMs = Math.max(1, cur.mono - prev.mono);
    const per = 1000 / dtMs;
    const rates: Record<string, number> = { ...ratesBetween(prev.kernel, cur.kernel, dtMs), ...netDevRates(prev.dev, cur.dev, dtMs) };
    if (prev.nft && cur.nft) {
      const delta = (name: string, field: keyof CounterValue): number | undefined => {
        const a = prev.nft!.get(name);
        const b = cur.nft!.get(name);
        if (!a || !b) return undefined;
        return Math.max(0, b[field] - a[field]) * per;
      };
      for (const c of CLASS_COUNTERS) {
        const v = delta(classCounter(c), 'packets');
        if (v !== undefined) rates[CLASS_METRIC[c]] = v;
      }
      const bytes = delta(classCounter('all'), 'bytes');
      if (bytes !== undefined) rates.all_bps = bytes * 8;
      for (const { counter, metric } of this.portCounters) {
        const v = delta(counter, 'packets');
        if (v !== undefined) rates[metric] = v;
      }
    }
    return { rates, dtMs };
  }
}
