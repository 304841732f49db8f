import { z } from 'zod';
import { epochMs, ipAddress, name, origin } from './common.js';

/**
 * portcullis.v1.decision.<jail> — a ban or unban, decided once (by one banner) and enforced by the
 * banner of every host. A decision for `jail` applies only to hosts that run that jail.
 */
export const BanDecisionV1 = z.object({
  v: z.literal(1),
  id: z.string().min(1).max(256),
  kind: z.enum(['ban', 'unban']),
  jail: name,
  ip: ipAddress,
  /** When the decision was made (epoch ms). */
  at: epochMs,
  /** Ban end (epoch ms), null = permanent; absent on unban. */
  until: epochMs.nullable().optional(),
  /** The ban time in seconds that was applied (-1 = permanent). */
  bantime: z.number().int().gte(-1).optional(),
  origin,
  reason: z.string().max(1024),
  /** The host whose banner made the decision. */
  decidedBy: name,
  /** The host whose logs showed the failure that led to a log ban. */
  seenOn: name.optional(),
  /** User or application that asked, for manual decisions. */
  by: z.string().max(256).optional(),
  failures: z.number().int().nonnegative().optional(),
  /** Number of times this address has been banned in this jail, this one included. */
  banCount: z.number().int().nonnegative().optional(),
  matches: z.array(z.string().max(4096)).max(50).optional(),
});
export type BanDecisionV1 = z.infer<typeof BanDecisionV1>;
