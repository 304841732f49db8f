import { z } from 'zod';
import { BanDecisionV1 } from './ban-decision.js';
import { name } from './common.js';

/**
 * portcullis.v1.decision-batch.<jail> — many decisions of one jail in one message, in the order
 * they were made: what every host's banner enforces from (one nft transaction per batch instead of
 * one per address). Each decision is also published alone on portcullis.v1.decision.<jail> for the
 * notifier and other applications. Keep a message under NATS' 1 MiB payload limit.
 */
export const BanDecisionBatchV1 = z
  .object({
    v: z.literal(1),
    /** Deterministic for the decisions it carries (JetStream's duplicate window drops a re-publish). */
    id: z.string().min(1).max(256),
    jail: name,
    decisions: z.array(BanDecisionV1).min(1).max(20_000),
  })
  .refine((b) => b.decisions.every((d) => d.jail === b.jail), { message: "every decision's jail must be the batch's jail", path: ['decisions'] });
export type BanDecisionBatchV1 = z.infer<typeof BanDecisionBatchV1>;
