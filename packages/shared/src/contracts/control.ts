import { z } from 'zod';
import { epochMs, name, origin } from './common.js';

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
  /** Unban everywhere and trust, in one step (fleet-wide, until untrusted). */
  z.object({ v: z.literal(1), op: z.literal('trust'), entry: z.string().min(1).max(64), by: z.string().max(256).optional() }),
  z.object({ v: z.literal(1), op: z.literal('untrust'), entry: z.string().min(1).max(64), by: z.string().max(256).optional() }),
  /** The fleet-wide trusted entries added at run time. */
  z.object({ v: z.literal(1), op: z.literal('trusted') }),
  /** The audit log, newest first. */
  z.object({
    v: z.literal(1),
    op: z.literal('audit'),
    jail: name.optional(),
    ip: z.string().max(64).optional(),
    origin: origin.optional(),
    kind: z.enum(['ban', 'extend', 'unban', 'trust', 'untrust']).optional(),
    since: epochMs.optional(),
    until: epochMs.optional(),
    limit: z.number().int().min(1).max(10_000).optional(),
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
    /** For audit: entries as stored (see docs/bans.md). */
    audit: z.array(z.record(z.string(), z.unknown())).optional(),
    /** For trusted: the fleet-wide entries. */
    trusted: z.array(z.object({ entry: z.string(), at: epochMs, by: z.string().optional() })).optional(),
  }),
  z.object({ v: z.literal(1), ok: z.literal(false), error: z.object({ code: z.string(), message: z.string() }) }),
]);
export type ControlReplyV1 = z.infer<typeof ControlReplyV1>;
