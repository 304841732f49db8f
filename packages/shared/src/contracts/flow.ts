import { z } from 'zod';
import { epochMs, ipAddress, name } from './common.js';

/** portcullis.v1.flow.sample.<host> — aggregated packet rates over an interval. */
export const FlowSampleV1 = z.object({
  v: z.literal(1),
  host: name,
  at: epochMs,
  intervalMs: z.number().int().positive(),
  /** metric name -> rate per second (e.g. "udp_pps", "tcp_syn_pps", "udp_noports_ps"). */
  rates: z.record(z.string().max(128), z.number().nonnegative()),
});
export type FlowSampleV1 = z.infer<typeof FlowSampleV1>;

/** portcullis.v1.flow.alert.<host> — a flood detected, updated, or ended. */
export const FlowAlertV1 = z.object({
  v: z.literal(1),
  id: z.string().min(1).max(256),
  host: name,
  at: epochMs,
  phase: z.enum(['start', 'update', 'end']),
  attack: z.enum(['udp-flood', 'syn-flood', 'icmp-flood', 'dns-amplification', 'http-flood', 'slowloris', 'other']),
  metric: z.string().max(128),
  rate: z.number().nonnegative(),
  baseline: z.number().nonnegative(),
  topSources: z.array(z.object({ ip: ipAddress, share: z.number().min(0).max(1) })).max(50),
  mitigation: z.string().max(1024),
});
export type FlowAlertV1 = z.infer<typeof FlowAlertV1>;
