import { z } from 'zod';
import { name, epochMs } from './common.js';

/** portcullis.v1.control.banner — request-reply used by the CLI and API. */
export const ControlRequestV1 = z.discriminatedUnion('op', [
  z.object({ v: z.literal(1), op: z.literal('status'), jail: name.optional() }),
  z.object({
    v: z.literal(1),
    op: z.literal('ban'),
    jail: name,
    ips: z.array(z.string().max(64)).min(1).max(1_000_000),
    by: z.string().max(256).optional(),
    bantime: z.number().int().gte(-1).optional(),
  }),
  z.object({
    v: z.literal(1),
    op: z.literal('unban'),
    /** Absent: every jail. */
    jail: name.optional(),
    ips: z.array(z.string().max(64)).min(1).max(1_000_000),
    by: z.string().max(256).optional(),
  }),
]);
export type ControlRequestV1 = z.infer<typeof ControlRequestV1>;

export const JailStatus = z.object({
  jail: name,
  filter: z.string(),
  logpaths: z.array(z.string()),
  currentlyFailed: z.number().int().nonnegative(),
  totalFailed: z.number().int().nonnegative(),
  failedIps: z.array(z.string()),
  currentlyBanned: z.number().int().nonnegative(),
  totalBanned: z.number().int().nonnegative(),
  bans: z.array(z.object({ ip: z.string(), until: epochMs.nullable() })),
});
export type JailStatus = z.infer<typeof JailStatus>;

export const ControlReplyV1 = z.discriminatedUnion('ok', [
  z.object({
    v: z.literal(1),
    ok: z.literal(true),
    jails: z.array(JailStatus).optional(),
    /** For ban/unban: addresses acted on, and those refused with the reason. */
    done: z.array(z.string()).optional(),
    refused: z.array(z.object({ ip: z.string(), code: z.string(), reason: z.string() })).optional(),
  }),
  z.object({ v: z.literal(1), ok: z.literal(false), error: z.object({ code: z.string(), message: z.string() }) }),
]);
export type ControlReplyV1 = z.infer<typeof ControlReplyV1>;
