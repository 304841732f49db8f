import { context, CONTRACTS, publishDurable, SpanKind, subjectFor, SUBJECTS, trace, tracer, type Bus, type LogBatchV1 } from '@portcullis/shared';
import type { SourceChunk } from './sources/source.js';

/** NATS' default max payload is 1 MiB; stay well below it including JSON overhead. */
const MAX_MESSAGE_BYTES = 512 * 1024;
const MAX_MESSAGE_LINES = 5_000;
const MAX_LINE_CHARS = 65_536;

/**
 * Publishes one chunk as one or more LogBatch messages and resolves once JetStream stored all of
 * them. Each part's id derives from the chunk id, so re-publishing the same chunk after a crash is
 * dropped by JetStream's duplicate window instead of being matched twice.
 */
export async function publishChunk(bus: Bus, host: string, source: string, chunk: SourceChunk): Promise<void> {
  const subject = subjectFor(SUBJECTS.logLines, host);
  const parts: LogBatchV1['lines'][] = [];
  let cur: LogBatchV1['lines'] = [];
  let bytes = 0;
  for (const l of chunk.lines) {
    const text = l.text.length > MAX_LINE_CHARS ? l.text.slice(0, MAX_LINE_CHARS) : l.text;
    const size = Buffer.byteLength(text) + 64;
    if (cur.length > 0 && (bytes + size > MAX_MESSAGE_BYTES || cur.length >= MAX_MESSAGE_LINES)) {
      parts.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push({ text, readAt: l.readAt });
    bytes += size;
  }
  if (cur.length > 0) parts.push(cur);
  // Each chunk starts a trace: the matcher, banner and notifier spans of what it leads to join it.
  const span = tracer().startSpan('collector.publish', {
    kind: SpanKind.PRODUCER,
    attributes: { 'portcullis.origin': chunk.origin, 'portcullis.lines': chunk.lines.length },
  });
  try {
    await context.with(trace.setSpan(context.active(), span), () =>
      Promise.all(
        parts.map((lines, i) => {
          const id = parts.length === 1 ? chunk.chunkId : `${chunk.chunkId}#${i}`;
          return publishDurable(bus, CONTRACTS.logBatch, subject, { v: 1, id, host, source, origin: chunk.origin, jails: chunk.jails, lines }, id);
        }),
      ),
    );
  } finally {
    span.end();
  }
}
