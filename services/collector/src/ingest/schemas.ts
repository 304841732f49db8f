import { isIP } from 'node:net';
import { z } from 'zod';
import type { ErrorDetail } from './http-error.js';

const RFC3339_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const NAME_MAX = 128;

const jailName = z.string().min(1).max(NAME_MAX);
const hostName = z
  .string()
  .max(NAME_MAX)
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, 'must be a host name (letters, digits, "_", "-" and dots)');
/** Client ids become part of bus ids (at most 256 characters): keep room for the prefix. */
const clientId = z.string().min(1).max(160).regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');

/** Epoch milliseconds, or an RFC 3339 date with its zone; always epoch milliseconds after parsing. */
const when = z.unknown().transform((v, ctx): number => {
  const fail = (): never => {
    ctx.addIssue({ code: 'custom', message: 'must be epoch milliseconds (an integer) or an RFC 3339 date such as 2026-01-01T12:00:00Z' });
    return z.NEVER;
  };
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? v : fail();
  if (typeof v !== 'string' || !RFC3339_RE.test(v)) return fail();
  const ms = Date.parse(v);
  return Number.isNaN(ms) || ms < 0 ? fail() : ms;
});

/** What a client posts to /v1/failures (the server fills v, host, source, origin, at and id when absent). */
export const FailureInput = z.strictObject({
  id: clientId.optional(),
  jail: jailName,
  ip: z.string().max(64).refine((s) => isIP(s) !== 0, 'is not an IPv4 or IPv6 address'),
  at: when.optional(),
  user: z.string().max(512).optional(),
  line: z.string().max(4096).optional(),
  host: hostName.optional(),
  source: z.string().min(1).max(32).optional(),
  origin: z.string().min(1).max(4096).optional(),
  fields: z.record(z.string().max(64), z.string().max(1024)).optional(),
});
export type FailureInput = z.output<typeof FailureInput>;

export const MAX_FAILURES_PER_REQUEST = 1000;

export const FailureArray = z.array(FailureInput).min(1).max(MAX_FAILURES_PER_REQUEST);

export const MAX_LINES_PER_REQUEST = 10_000;

/** What a client posts to /v1/lines: `jail` or `jails`, not both. */
export const LinesBody = z
  .strictObject({
    id: clientId.optional(),
    jail: jailName.optional(),
    jails: z.array(jailName).min(1).max(256).optional(),
    origin: z.string().min(1).max(4096),
    host: hostName.optional(),
    lines: z
      .array(
        z
          .string()
          .max(65_536)
          .refine((l) => !/[\r\n]/.test(l), 'must not contain a new line (send each line as its own array element)'),
      )
      .min(1)
      .max(MAX_LINES_PER_REQUEST),
  })
  .superRefine((b, ctx) => {
    if ((b.jail === undefined) === (b.jails === undefined)) ctx.addIssue({ code: 'custom', path: ['jail'], message: 'give either "jail" or "jails"' });
  });
export type LinesBody = z.output<typeof LinesBody>;

/** Zod issues as `{ path, message }`, paths written as in JavaScript (`[2].ip`, `lines[0]`). */
export function issueDetails(err: z.ZodError, max = 20): ErrorDetail[] {
  return err.issues.slice(0, max).map((i) => ({ path: formatPath(i.path), message: i.message }));
}

function formatPath(path: readonly PropertyKey[]): string {
  let s = '';
  for (const p of path) s += typeof p === 'number' ? `[${p}]` : s === '' ? String(p) : `.${String(p)}`;
  return s;
}
