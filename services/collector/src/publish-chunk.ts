import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { context, CONTRACTS, LogBatchV1, PortcullisError, publishDurableEncoded, SpanKind, subjectFor, SUBJECTS, trace, tracer, type Bus } from '@portcullis/shared';
import type { z } from 'zod';
import { LogBatchParts } from './json/log-batch-parts.js';
import { MessageBuffers } from './message-buffers.js';
import { ByteLines } from './sources/byte-lines.js';
import type { SourceChunk } from './sources/source.js';

/**
 * A message is at most NATS' default max_payload (1 MiB), or the server's own if that is smaller,
 * less room for the headers (the chunk's trace context, a root span's: under 100 bytes; and the
 * Nats-Msg-Id, under 300). With 1 MiB rather than 512 KiB nats-server spent about a fifth less CPU
 * on the same lines (measured).
 */
const MAX_MESSAGE_BYTES = 1024 * 1024;
const HEADER_ROOM = 2048;
/** The LogBatch contract's limit. */
const MAX_PART_LINES = 10_000;

/** Enough for the parts of a chunk of the file source's largest (7 MB of JSON) in flight. */
const buffers = new MessageBuffers(MAX_MESSAGE_BYTES, 8);

const ENVELOPE = LogBatchV1.omit({ lines: true });
const MESSAGE_ID = LogBatchV1.shape.id;

/**
 * Publishes one chunk as one or more LogBatch messages and resolves once JetStream stored all of
 * them. The messages' JSON is written directly from the lines (json/log-batch-parts.ts: the same
 * bytes as the contract's encoder would give), split by exact size, with ids that depend on the
 * lines alone, so re-publishing the same chunk after a crash yields the same messages under the same
 * ids and JetStream's duplicate window drops what had already arrived instead of it being matched
 * twice.
 *
 * Parts go out one after the other, in the lines' order, with a turn of the event loop in between,
 * so the socket drains and the server stores part i while part i+1 is being written. All of a
 * chunk's parts are in flight together (a chunk is bounded by the source's batch limits); the chunk
 * resolves on the last ack.
 */
export async function publishChunk(bus: Bus, host: string, source: string, chunk: SourceChunk): Promise<void> {
  checkChunk(host, source, chunk);
  const subject = subjectFor(SUBJECTS.logLines, host);
  // Read for each chunk: a reconnect may have brought a server with another limit. NATS' default
  // stands in only while no server was ever seen, when nothing can be published anyway.
  const maxPayload = bus.nc.info?.max_payload ?? MAX_MESSAGE_BYTES;
  const env = { host, source, origin: chunk.origin, jails: chunk.jails };
  const parts = new LogBatchParts(chunk.chunkId, env, chunk.lines, Math.min(maxPayload, MAX_MESSAGE_BYTES) - HEADER_ROOM, MAX_PART_LINES);
  // Each chunk starts a trace: the matcher, banner and notifier spans of what it leads to join it.
  const span = tracer().startSpan('collector.publish', {
    kind: SpanKind.PRODUCER,
    attributes: { 'portcullis.origin': chunk.origin, 'portcullis.lines': chunk.lines.length },
  });
  try {
    await context.with(trace.setSpan(context.active(), span), async () => {
      const acks: Promise<void>[] = [];
      let taken: Buffer | undefined;
      const take = (bytes: number): Buffer => (taken = buffers.take(bytes));
      let part = parts.next(take);
      while (part) {
        if (!MESSAGE_ID.safeParse(part.id).success) throw invalid(`id ${part.id.slice(0, 300)}: expected 1 to 256 characters`);
        const buf = taken as Buffer;
        const ack = publishDurableEncoded(bus, subject, part.data, part.id).then(() => buffers.give(buf));
        // Handled now, awaited with the others: a part refused while later ones are written must
        // not count as an unhandled rejection.
        ack.catch(() => undefined);
        acks.push(ack);
        part = parts.next(take);
        if (part) await yieldToLoop();
      }
      await Promise.all(acks);
    });
  } finally {
    span.end();
  }
}

/** What the contract's schema would refuse, refused before anything is published. */
function checkChunk(host: string, source: string, chunk: SourceChunk): void {
  const env = ENVELOPE.safeParse({ v: 1, id: chunk.chunkId, host, source, origin: chunk.origin, jails: chunk.jails });
  if (!env.success) throw invalid(summarize(env.error));
  const lines = chunk.lines;
  if (lines instanceof ByteLines) {
    for (let k = 0; k < lines.blockCount; k++) checkReadAt(lines.blockReadAt(k));
  } else {
    for (const l of lines) checkReadAt(l.readAt);
  }
}

function checkReadAt(readAt: number): void {
  if (!Number.isSafeInteger(readAt) || readAt < 0) {
    throw new PortcullisError('PC_MESSAGE_INVALID', `refusing to publish a line with readAt ${String(readAt)}: expected epoch milliseconds`);
  }
}

function invalid(why: string): PortcullisError {
  return new PortcullisError('PC_MESSAGE_INVALID', `refusing to publish an invalid ${CONTRACTS.logBatch.name}: ${why}`);
}

function summarize(err: z.ZodError): string {
  return err.issues
    .slice(0, 3)
    .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
    .join('; ');
}
