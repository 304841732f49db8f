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
  /** metric name -> the highest rate of any fast tick inside the interval (rates holds their average). */
  peak: z.record(z.string().max(128), z.number().nonnegative()).optional(),
  /** How many fast ticks the interval aggregates. */
  ticks: z.number().int().positive().optional(),
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
  /** The rate above which the metric counted as a flood (baseline, factor and floor combined). */
  threshold: z.number().nonnegative().optional(),
  /** Start of the first measuring tick that was over the threshold: the flood's onset, as far as flowmon can tell. */
  onsetAt: epochMs.optional(),
  /** When the mitigation of this alert was in the kernel (absent when nothing was applied). */
  mitigatedAt: epochMs.optional(),
  /** The mitigation as data: one entry per rule or drop set. */
  mitigations: z
    .array(
      z.object({
        kind: z.enum(['drop-sources', 'rate-limit', 'per-source-limit', 'conn-limit', 'drop-unsolicited']),
        /** What it matches, in nft words (e.g. "udp", "tcp dport 80 syn", "192.0.2.7"). */
        target: z.string().max(256),
        /** Packets (or connections) per second allowed, for limits. */
        rate: z.number().nonnegative().optional(),
        /** Sources in a drop set. */
        sources: z.number().int().nonnegative().optional(),
      }),
    )
    .max(32)
    .optional(),
  /** Packets dropped by this alert's mitigation so far. */
  dropped: z.number().int().nonnegative().optional(),
  /** Kernel cross-checks at detection (e.g. udp_noports_ps, syncookies_sent_ps). */
  evidence: z.record(z.string().max(128), z.number().nonnegative()).optional(),
});
export type FlowAlertV1 = z.infer<typeof FlowAlertV1>;
