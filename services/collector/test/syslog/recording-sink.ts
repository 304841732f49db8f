import { Writable } from 'node:stream';
import { createLogger, type Logger } from '@portcullis/shared';
import { sourceLines, type ChunkSink, type SourceChunk } from '../../src/sources/source.js';

/** The sink contract without NATS: records accepted chunks, or rejects them all while `failing`. */
export class RecordingSink {
  readonly chunks: SourceChunk[] = [];
  failing = false;
  rejected: SourceChunk[] = [];

  readonly sink: ChunkSink = async (chunk) => {
    if (this.failing) {
      this.rejected.push(chunk);
      throw new Error('bus unavailable');
    }
    this.chunks.push(structuredClone(chunk));
  };

  texts(): string[] {
    return this.chunks.flatMap((c) => sourceLines(c.lines).map((l) => l.text));
  }

  async waitForLines(n: number, timeoutMs = 15_000): Promise<void> {
    await waitFor(() => this.texts().length >= n, timeoutMs, () => `expected ${n} lines, got ${this.texts().length}: ${JSON.stringify(this.texts())}`);
  }
}

export async function waitFor(cond: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A logger whose JSON lines are kept, so tests can assert what was reported. */
export function captureLog(): { log: Logger; entries: () => Record<string, unknown>[] } {
  const lines: string[] = [];
  const dest = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  const log = createLogger({ service: 'collector-test', level: 'debug', destination: dest });
  return { log, entries: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}
