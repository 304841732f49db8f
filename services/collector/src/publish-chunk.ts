import { setImmediate as yieldToLoop } from 'node:timers/promises';
import {
  context,
  CONTRACTS,
  LogBatchV1,
  PortcullisError,
  publishDurable,
  SpanKind,
  subjectFor,
  SUBJECTS,
  trace,
  tracer,
  type Bus,
  type Contract,
} from '@portcullis/shared';
import { z } from 'zod';
import type { SourceChunk } from './sources/source.js';

type LogLine = LogBatchV1['lines'][number];

/**
 * Budget of one message's lines, counted in UTF-16 units plus JSON overhead: about 512 KiB of ASCII
 * text, half of NATS' default max_payload. Text that grows when encoded (non-ASCII, characters JSON
 * escapes) can still exceed the server's limit; such a part is refused by the client before
 * anything is sent, and is then halved (see send). Counting bytes exactly up front would
 * cost a scan of every line for the rare case.
 */
const PART_BUDGET = 512 * 1024;
/** JSON around one line: {"text":"","readAt":1795318801000}, and a comma. */
const LINE_OVERHEAD = 34;
const MAX_PART_LINES = 5_000;
const MAX_LINE_CHARS = 65_536;

/**
 * The LogBatch contract with its envelope checked by the schema and its lines checked here, line by
 * line, as they are built (text cut to the contract's limit, readAt a non-negative integer): the
 * schema's own pass copies every line, about 150 ns a line (measured), a sixth of the encoding.
 * JSON and subject are those of CONTRACTS.logBatch, so consumers see exactly the same messages.
 */
const LOG_BATCH_BUILT: Contract = Object.freeze({
  name: CONTRACTS.logBatch.name,
  subject: CONTRACTS.logBatch.subject,
  schema: LogBatchV1.extend({ lines: z.custom<LogLine[]>((v) => Array.isArray(v) && v.length >= 1 && v.length <= 10_000, 'expected 1 to 10000 lines') }),
});

interface Envelope {
  bus: Bus;
  subject: string;
  host: string;
  source: string;
  origin: string;
  jails: string[];
}

/**
 * Publishes one chunk as one or more LogBatch messages and resolves once JetStream stored all of
 * them. Each part's id derives from the chunk id and the split is a function of the lines' texts
 * alone, so re-publishing the same chunk after a crash yields the same ids and JetStream's
 * duplicate window drops what had already arrived instead of it being matched twice.
 *
 * Parts go out one after the other, in the lines' order, with a turn of the event loop in between:
 * the server stores part i while part i+1 is being encoded. All of a chunk's parts are in flight
 * together (a chunk is bounded by the source's batch limits); the chunk resolves on the last ack.
 */
export async function publishChunk(bus: Bus, host: string, source: string, chunk: SourceChunk): Promise<void> {
  const env: Envelope = { bus, subject: subjectFor(SUBJECTS.logLines, host), host, source, origin: chunk.origin, jails: chunk.jails };
  const parts = splitLines(chunk.lines);
  // Each chunk starts a trace: the matcher, banner and notifier spans of what it leads to join it.
  const span = tracer().startSpan('collector.publish', {
    kind: SpanKind.PRODUCER,
    attributes: { 'portcullis.origin': chunk.origin, 'portcullis.lines': chunk.lines.length },
  });
  try {
    await context.with(trace.setSpan(context.active(), span), async () => {
      const acks: Promise<void>[] = [];
      for (let i = 0; i < parts.length; i++) await send(env, parts.length === 1 ? chunk.chunkId : `${chunk.chunkId}#${i}`, parts[i] as LogLine[], acks);
      await Promise.all(acks);
    });
  } finally {
    span.end();
  }
}

/**
 * Hands one message to the client and returns once it was sent (its ack promise added to `acks`)
 * or refused for its size. The client checks max_payload synchronously, before anything goes on
 * the wire, so after one turn of the event loop the outcome is known; a refused message is then
 * replaced in place by its halves (ids `<id>~0`, `<id>~1`), so the lines keep their order on the
 * stream. A single line that still does not fit (only with a max_payload far below NATS' default)
 * is cut in half until it does: refusing it would make the source offer the same chunk forever.
 */
async function send(env: Envelope, id: string, lines: LogLine[], acks: Promise<void>[]): Promise<void> {
  const { bus, subject, host, source, origin, jails } = env;
  let decided = false;
  let tooLarge = false;
  const ack = publishDurable(bus, LOG_BATCH_BUILT, subject, { v: 1, id, host, source, origin, jails, lines }, id).catch((e: unknown) => {
    // A refusal after the decision would mean lines silently missing: let it fail the chunk instead.
    if (!decided && isPayloadTooLarge(e)) tooLarge = true;
    else throw e;
  });
  // Handled now, awaited with the others: a part refused while later ones are encoded must not
  // count as an unhandled rejection.
  ack.catch(() => undefined);
  await yieldToLoop();
  decided = true;
  if (!tooLarge) {
    acks.push(ack);
    return;
  }
  const only = lines.length === 1 ? (lines[0] as LogLine) : undefined;
  if (only) {
    if (only.text.length <= 1) throw new PortcullisError('PC_MESSAGE_INVALID', `the server's max_payload (${bus.nc.info?.max_payload ?? '?'} bytes) is too small for any LogBatch`);
    await send(env, id, [{ text: only.text.slice(0, Math.floor(only.text.length / 2)), readAt: only.readAt }], acks);
    return;
  }
  const mid = Math.ceil(lines.length / 2);
  await send(env, `${id}~0`, lines.slice(0, mid), acks);
  await send(env, `${id}~1`, lines.slice(mid), acks);
}

/** The client refuses a message above max_payload before sending any of it. */
function isPayloadTooLarge(e: unknown): boolean {
  return e instanceof Error && /max_payload/.test(e.message);
}

/** Groups lines into parts by the budget; cuts over-long lines to the contract's limit. */
function splitLines(lines: readonly { text: string; readAt: number }[]): LogLine[][] {
  const parts: LogLine[][] = [];
  let cur: LogLine[] = [];
  let size = 0;
  for (const l of lines) {
    if (!Number.isSafeInteger(l.readAt) || l.readAt < 0) {
      throw new PortcullisError('PC_MESSAGE_INVALID', `refusing to publish a line with readAt ${String(l.readAt)}: expected epoch milliseconds`);
    }
    // Every source builds its lines as exactly { text, readAt }: those are sent as they are, and
    // only a line over the contract's limit is copied (cut).
    const line = l.text.length > MAX_LINE_CHARS ? { text: l.text.slice(0, MAX_LINE_CHARS), readAt: l.readAt } : l;
    const cost = line.text.length + LINE_OVERHEAD;
    if (cur.length > 0 && (size + cost > PART_BUDGET || cur.length >= MAX_PART_LINES)) {
      parts.push(cur);
      cur = [];
      size = 0;
    }
    cur.push(line);
    size += cost;
  }
  if (cur.length > 0) parts.push(cur);
  return parts;
}
