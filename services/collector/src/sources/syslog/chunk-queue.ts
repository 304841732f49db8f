import { randomUUID } from 'node:crypto';
import type { Logger } from '@portcullis/shared';
import { deliverWithRetry, type RetryPolicy } from '../file/deliver.js';
import type { ChunkSink, SourceChunk, SourceLine } from '../source.js';

export interface ChunkQueueOptions {
  sink: ChunkSink;
  log: Pick<Logger, 'warn' | 'info'>;
  retry: RetryPolicy;
  batchMaxLines: number;
  batchMaxDelayMs: number;
  /** Called when delivery starts or stops failing, or the queue crosses its high-water mark. */
  onPressure: (blocked: boolean) => void;
  highWaterLines: number;
}

interface Group {
  origin: string;
  jails: string[];
  lines: SourceLine[];
}

/**
 * Lines received from the network wait here until the sink took them. Lines for the same origin
 * and jails are sent together (one chunk, up to batchMaxLines), one chunk at a time; a rejected
 * chunk is offered again unchanged (same id) until the sink accepts it, so a bus outage delays
 * lines and the bus's duplicate window absorbs a chunk that arrived although its ack was lost.
 */
export class ChunkQueue {
  readonly #o: ChunkQueueOptions;
  readonly #groups = new Map<string, Group>();
  /** Chunk ids: unique per process run (network input cannot be re-read after a restart anyway). */
  readonly #runId = randomUUID();
  #seq = 0;
  #queued = 0;
  #inFlight = 0;
  #draining: Promise<void> | null = null;
  #timer: NodeJS.Timeout | null = null;
  #failing = false;
  #blocked = false;
  readonly #abort = new AbortController();

  constructor(opts: ChunkQueueOptions) {
    this.#o = opts;
  }

  /** Lines waiting or being delivered. */
  get size(): number {
    return this.#queued + this.#inFlight;
  }

  push(origin: string, jails: string[], line: SourceLine): void {
    const key = `${origin}\u0000${jails.join('\u0000')}`;
    let g = this.#groups.get(key);
    if (!g) {
      g = { origin, jails, lines: [] };
      this.#groups.set(key, g);
    }
    g.lines.push(line);
    this.#queued++;
    this.#updatePressure();
    this.#schedule();
  }

  /** Resolves when everything queued was delivered, or `timeoutMs` passed (then delivery is abandoned). */
  async close(timeoutMs: number): Promise<{ undelivered: number }> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const deadline = setTimeout(() => this.#abort.abort(), timeoutMs);
    try {
      while (this.#queued > 0 && !this.#abort.signal.aborted) {
        this.#draining ??= this.#drain();
        await this.#draining;
      }
      await this.#draining;
    } finally {
      clearTimeout(deadline);
      this.#abort.abort();
    }
    return { undelivered: this.#queued + this.#inFlight };
  }

  #schedule(): void {
    if (this.#draining || this.#abort.signal.aborted) return;
    if (this.#queued >= this.#o.batchMaxLines) {
      if (this.#timer) clearTimeout(this.#timer);
      this.#timer = null;
      this.#draining = this.#drain();
    } else if (!this.#timer) {
      this.#timer = setTimeout(() => {
        this.#timer = null;
        this.#draining ??= this.#drain();
      }, this.#o.batchMaxDelayMs);
    }
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queued > 0 && !this.#abort.signal.aborted) {
        const chunk = this.#take();
        this.#inFlight = chunk.lines.length;
        const ok = await deliverWithRetry(this.#trackingSink, chunk, this.#o.retry, this.#abort.signal, this.#o.log);
        // Not ok = abandoned while closing: the lines stay counted in #inFlight as undelivered.
        if (!ok) break;
        this.#inFlight = 0;
        this.#updatePressure();
      }
    } finally {
      this.#draining = null;
      if (this.#queued > 0 && !this.#abort.signal.aborted) this.#schedule();
    }
  }

  #take(): SourceChunk {
    const [key, g] = this.#groups.entries().next().value as [string, Group];
    const lines = g.lines.length <= this.#o.batchMaxLines ? g.lines : g.lines.slice(0, this.#o.batchMaxLines);
    if (lines === g.lines) this.#groups.delete(key);
    else g.lines = g.lines.slice(lines.length);
    this.#queued -= lines.length;
    return { origin: g.origin, jails: g.jails, lines, chunkId: `${this.#runId}:${this.#seq++}` };
  }

  readonly #trackingSink: ChunkSink = async (chunk) => {
    try {
      await this.#o.sink(chunk);
      this.#failing = false;
    } catch (e) {
      this.#failing = true;
      throw e;
    } finally {
      this.#updatePressure();
    }
  };

  #updatePressure(): void {
    // Resume only at half the high-water mark, so senders are not paused and resumed line by line.
    const limit = this.#blocked ? this.#o.highWaterLines / 2 : this.#o.highWaterLines;
    const blocked = this.#failing || this.size >= limit;
    if (blocked !== this.#blocked) {
      this.#blocked = blocked;
      this.#o.onPressure(blocked);
    }
  }
}
