import { z } from 'zod';
import { epochMs, ipAddress, name } from './common.js';

/** Most failures in one FailureBatch (a LogBatch holds at most 10,000 lines). */
export const FAILURE_BATCH_MAX = 10_000;

/** One failure inside a FailureBatch: what differs from one failure of the batch to the next. */
export const BatchedFailure = z.object({
  /** Unique and deterministic for the same input line: duplicates are counted once. */
  id: z.string().min(1).max(256),
  ip: ipAddress,
  /** Time of the failure as logged (epoch ms). */
  at: epochMs,
  /** The matched log line (bounded), for the audit log and the notification. */
  line: z.string().max(4096).optional(),
  user: z.string().max(512).optional(),
  fields: z.record(z.string().max(64), z.string().max(1024)).optional(),
});
export type BatchedFailure = z.infer<typeof BatchedFailure>;

/**
 * portcullis.v1.failure-batch.<jail> — many failures of one jail seen in one log source, in the
 * order they were logged: what the matcher publishes for each log batch and jail (one message, one
 * acknowledgement and one span instead of one per failure). Each entry counts exactly as the
 * FailureEvent with the batch's jail, host, source, origin and producer and the entry's fields would.
 * Keep a message under NATS' 1 MiB payload limit.
 */
export const FailureBatchV1 = z.object({
  v: z.literal(1),
  /** Deterministic for the failures it carries (JetStream's duplicate window drops a re-publish). */
  id: z.string().min(1).max(256),
  jail: name,
  /** Host that saw them. */
  host: name,
  source: z.string().min(1).max(32),
  origin: z.string().max(4096),
  /** Who produced them: 'log' for our matcher, 'external' for another application. */
  producer: z.enum(['log', 'external']).default('log'),
  failures: z.array(BatchedFailure).min(1).max(FAILURE_BATCH_MAX),
});
export type FailureBatchV1 = z.infer<typeof FailureBatchV1>;
