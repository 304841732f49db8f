import { z } from 'zod';
import { epochMs, ipAddress, name } from './common.js';

/** portcullis.v1.failure.<jail> — one failed attempt of one address, from a filter or another app. */
export const FailureEventV1 = z.object({
  v: z.literal(1),
  /** Unique and deterministic for the same input line: duplicates are counted once. */
  id: z.string().min(1).max(256),
  jail: name,
  ip: ipAddress,
  /** Time of the failure as logged (epoch ms). */
  at: epochMs,
  /** Host that saw it. */
  host: name,
  source: z.string().min(1).max(32),
  origin: z.string().max(4096),
  /** The matched log line (bounded), for the audit log and the notification. */
  line: z.string().max(4096).optional(),
  user: z.string().max(512).optional(),
  fields: z.record(z.string().max(64), z.string().max(1024)).optional(),
  /** Who produced it: 'log' for our matcher, 'external' for another application. */
  producer: z.enum(['log', 'external']).default('log'),
});
export type FailureEventV1 = z.infer<typeof FailureEventV1>;
