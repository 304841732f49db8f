import { createHash } from 'node:crypto';
import type { FailureEventV1 } from '@portcullis/shared';
import type { SourceChunk } from '../sources/source.js';
import type { FailureInput, LinesBody } from './schemas.js';

export interface RequestContext {
  /** Name of the token the request authenticated with. */
  client: string;
  /** The collector's host name: the default `host`. */
  host: string;
  now: number;
}

/**
 * A posted failure as a FailureEvent. Ids make retries safe: a client id becomes
 * `ext:<token name>:<id>` (clients cannot collide with each other or with the matcher's ids);
 * without one, the id is a hash of the event's content, so the same body posted twice, with the
 * same `at`, is one failure. (Without `at`, the time of arrival is used and every post counts.)
 */
export function toFailureEvent(input: FailureInput, ctx: RequestContext): FailureEventV1 {
  const ev: Omit<FailureEventV1, 'id'> = {
    v: 1,
    jail: input.jail,
    ip: input.ip,
    at: input.at ?? ctx.now,
    host: input.host ?? ctx.host,
    source: input.source ?? 'http',
    origin: input.origin ?? `http:${ctx.client}`,
    producer: 'external',
    ...(input.user !== undefined ? { user: input.user } : {}),
    ...(input.line !== undefined ? { line: input.line } : {}),
    ...(input.fields !== undefined ? { fields: input.fields } : {}),
  };
  const id = input.id !== undefined ? `ext:${ctx.client}:${input.id}` : `ext:${ctx.client}:${contentHash(ev)}`;
  return { ...ev, id };
}

/**
 * Posted lines as one chunk. Its id is `http:<token name>:<id>` or a hash of host, origin, jails and
 * lines: a retried post is stored once by the bus's duplicate window (2 minutes).
 */
export function toChunk(body: LinesBody, ctx: RequestContext): { host: string; chunk: SourceChunk } {
  const jails = [...new Set(body.jails ?? [body.jail as string])].sort();
  const host = body.host ?? ctx.host;
  const chunkId =
    body.id !== undefined ? `http:${ctx.client}:${body.id}` : `http:${ctx.client}:${contentHash({ host, origin: body.origin, jails, lines: body.lines })}`;
  return { host, chunk: { origin: body.origin, jails, lines: body.lines.map((text) => ({ text, readAt: ctx.now })), chunkId } };
}

/** SHA-256 of a canonical JSON (keys sorted), 32 hex characters. */
export function contentHash(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex').slice(0, 32);
}

function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const keys = Object.keys(v).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}
