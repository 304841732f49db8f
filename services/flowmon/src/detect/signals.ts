import type { FlowAlertV1 } from '@portcullis/shared';
import type { Floors, FlowmonConfig } from '../config/flowmon-config.js';
import type { SourceClass } from '../nft/guard-table.js';

export type Attack = FlowAlertV1['attack'];
/** Rates of one fast tick (per second) and gauges (connections), by metric name. */
export type Rates = Readonly<Record<string, number>>;

/** One thing that can be a flood: a metric, the attack it means, and when it counts. */
export interface Signal {
  /** Unique per signal: one incident at a time per key. */
  key: string;
  attack: Attack;
  metric: string;
  floor: number;
  /** Where its sources are sampled (none for slowloris: /proc names them). */
  sourceClass?: SourceClass;
  /** The service port it is about, when it is about one. */
  port?: number;
  /** An extra condition for starting (not for staying active). */
  gate?: (r: Rates) => boolean;
}

/**
 * Whether most SYNs of this tick did not complete a handshake: a SYN flood, not many clients.
 * Syncookies being sent means the listen queue overflowed, which only a flood of half-open
 * connections does.
 */
export function mostlyHalfOpen(r: Rates): boolean {
  const syn = r.tcp_syn_pps ?? 0;
  const opened = r.tcp_passive_opens_ps ?? 0;
  return (r.syncookies_sent_ps ?? 0) > 0 || opened < 0.5 * syn;
}

export const newConnMetric = (port: number): string => `newconn_tcp_${port}_ps`;
export const portMetric = (proto: 'tcp' | 'udp', port: number): string => `port_${proto}_${port}_pps`;

export function buildSignals(cfg: Pick<FlowmonConfig, 'httpPorts'> & { floors: Floors }): Signal[] {
  const f = cfg.floors;
  return [
    { key: 'udp-flood', attack: 'udp-flood', metric: 'udp_pps', floor: f.udp, sourceClass: 'udp' },
    { key: 'dns-amplification', attack: 'dns-amplification', metric: 'dns_resp_pps', floor: f.dns, sourceClass: 'dns' },
    { key: 'icmp-flood', attack: 'icmp-flood', metric: 'icmp_pps', floor: f.icmp, sourceClass: 'icmp' },
    { key: 'syn-flood', attack: 'syn-flood', metric: 'tcp_syn_pps', floor: f.syn, sourceClass: 'syn', gate: mostlyHalfOpen },
    ...cfg.httpPorts.map(
      (port): Signal => ({
        key: `http-flood:${port}`,
        attack: 'http-flood',
        metric: newConnMetric(port),
        floor: f.http,
        sourceClass: 'syn',
        port,
        gate: (r) => !mostlyHalfOpen(r),
      }),
    ),
    { key: 'slowloris', attack: 'slowloris', metric: 'max_conns_per_source', floor: f.slowloris },
    { key: 'other:proto', attack: 'other', metric: 'other_pps', floor: f.other, sourceClass: 'other' },
    { key: 'other:tcp-oos', attack: 'other', metric: 'tcp_oos_pps', floor: f.tcpOos, sourceClass: 'other' },
  ];
}
