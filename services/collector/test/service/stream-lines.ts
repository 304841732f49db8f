import { connectBus, consumeDurable, CONTRACTS, createLogger, ensureStreams, subjectFor, SUBJECTS, type Bus, type Consumption, type LogBatchV1 } from '@portcullis/shared';

/**
 * Reads every LogBatch of one host from JetStream through a durable consumer, as the matcher does,
 * and keeps each line's text per origin in stream order. A message redelivered by the consumer (its
 * ack was lost) is not a duplicate in the stream and is skipped by its id; a second *stream* message
 * with an id already seen is what JetStream's de-duplication should have prevented, and is counted.
 */
export class StreamLines {
  readonly byOrigin = new Map<string, string[]>();
  readonly counts = new Map<string, number>();
  /** Ids of messages that reached the stream twice (first delivery both times). */
  readonly duplicateIds: string[] = [];
  total = 0;
  messages = 0;
  readonly #ids = new Set<string>();
  readonly #bus: Bus;
  #consumption: Consumption | null = null;

  readonly #keep: (text: string) => boolean;

  private constructor(bus: Bus, keep: (text: string) => boolean) {
    this.#bus = bus;
    this.#keep = keep;
  }

  /** Whether a message with this id (or a part of the chunk with this id) is on the stream. */
  hasChunk(chunkId: string): boolean {
    if (this.#ids.has(chunkId)) return true;
    for (const id of this.#ids) if (id.startsWith(`${chunkId}#`)) return true;
    return false;
  }

  /** Ids of the messages read, in stream order. */
  ids(): string[] {
    return [...this.#ids];
  }

  get bus(): Bus {
    return this.#bus;
  }

  /**
   * `keep` decides which lines' texts are kept (default all); the others are only counted, so a
   * gigabyte can pass through without being held.
   */
  static async start(natsUrl: string, host: string, opts: { durable?: string; keep?: (text: string) => boolean } = {}): Promise<StreamLines> {
    const bus = await connectBus({ url: natsUrl, name: `stream-lines@${host}`, log: createLogger({ service: 'stream-lines', level: 'error' }) });
    await ensureStreams(bus);
    const r = new StreamLines(bus, opts.keep ?? (() => true));
    const durable = opts.durable ?? 'service-test';
    r.#consumption = await consumeDurable(bus, {
      stream: 'logs',
      durable,
      contract: CONTRACTS.logBatch,
      filterSubject: subjectFor(SUBJECTS.logLines, host),
      deliver: 'all',
      // LogBatches run up to 1 MiB: 256 per pull (the default) can exceed what nats-server
      // buffers for one client (64 MiB); it then drops messages to this "slow consumer" and they
      // come back only after the ack wait (30 s).
      maxAckPendingPerBatch: 8,
      spanName: 'test.stream-lines',
      handler: async (msg, meta) => r.#add(msg, meta.redelivered),
    });
    return r;
  }

  has(text: string): boolean {
    return this.counts.has(text);
  }

  lines(origin: string): string[] {
    return this.byOrigin.get(origin) ?? [];
  }

  async waitForLines(n: number, timeoutMs: number, what: () => string = () => ''): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.total < n) {
      if (Date.now() > deadline) throw new Error(`expected ${n} lines on the bus, got ${this.total}. ${what()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<void> {
    await this.#consumption?.stop();
    await this.#bus.close();
  }

  #add(msg: LogBatchV1, redelivered: boolean): void {
    if (this.#ids.has(msg.id)) {
      if (!redelivered) this.duplicateIds.push(msg.id);
      else return;
    }
    this.#ids.add(msg.id);
    this.messages++;
    let list = this.byOrigin.get(msg.origin);
    if (!list) this.byOrigin.set(msg.origin, (list = []));
    for (const l of msg.lines) {
      this.total++;
      if (!this.#keep(l.text)) continue;
      list.push(l.text);
      this.counts.set(l.text, (this.counts.get(l.text) ?? 0) + 1);
    }
  }
}

/**
 * What an exactly-once check found: lines seen twice, expected lines never seen, and the first
 * place where an origin's lines are out of order (by `rank`).
 */
export interface ExactlyOnceReport {
  duplicates: string[];
  missing: string[];
  missingCount: number;
  unexpected: number;
  firstDisorder: { origin: string; at: number; prev: string; next: string } | null;
}

/** `unordered`: lines exempt from the order check (late writes to a renamed file). */
export function checkExactlyOnce(r: StreamLines, expected: readonly string[], rank: (text: string) => number, unordered: ReadonlySet<string> = new Set()): ExactlyOnceReport {
  const duplicates = [...r.counts].filter(([, c]) => c > 1).map(([t]) => t);
  const want = new Set(expected);
  const missing = expected.filter((t) => !r.counts.has(t));
  let unexpected = 0;
  for (const t of r.counts.keys()) if (!want.has(t)) unexpected++;
  let firstDisorder: ExactlyOnceReport['firstDisorder'] = null;
  for (const [origin, all] of r.byOrigin) {
    const list = all.filter((t) => !unordered.has(t));
    for (let i = 1; i < list.length && !firstDisorder; i++) {
      if (rank(list[i] as string) <= rank(list[i - 1] as string)) firstDisorder = { origin, at: i, prev: list[i - 1] as string, next: list[i] as string };
    }
  }
  return { duplicates: duplicates.slice(0, 5), missing: missing.slice(0, 5), missingCount: missing.length, unexpected, firstDisorder };
}
