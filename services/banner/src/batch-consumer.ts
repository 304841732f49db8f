import {
  describeError,
  extractTrace,
  sleep,
  SpanKind,
  SpanStatusCode,
  trace,
  tracer,
  type Bus,
  type Context,
  type Span,
} from '@portcullis/shared';

// The JetStream client's types, reached through the Bus (the banner does not depend on it directly).
type ConsumerMessages = Awaited<ReturnType<Awaited<ReturnType<Bus['js']['consumers']['get']>>['consume']>>;
type JsMsg = ConsumerMessages extends AsyncIterable<infer M> ? M : never;
type ConsumerConfig = Parameters<Bus['jsm']['consumers']['add']>[1];

export interface BatchItem<T> {
  value: T;
  subject: string;
  redelivered: boolean;
  /** The message's own span (a child of its publisher's trace): run its work under this context. */
  ctx: Context;
}

export interface BatchConsumeOptions<T> {
  bus: Bus;
  stream: string;
  /** Durable consumer name: instances sharing it share the work. */
  durable: string;
  /** Contract name (for reject counting) and its decoder (decodeMessage with the contract). */
  contract: { name: string };
  decode: (data: Uint8Array) => T;
  /** Where a newly created consumer starts. */
  deliver: 'all' | 'new';
  /** Most messages handed to one handler call. */
  maxBatch: number;
  /** Delivered but unacknowledged messages the server lets this consumer hold. */
  maxAckPending: number;
  spanName: string;
  /** Messages to acknowledge without decoding or handling them (checked on headers only). */
  skip?: (headers: JsMsg['headers']) => boolean;
  /**
   * Handles every message that arrived while the previous call ran (one, when they trickle in).
   * Returns the indexes of the items that failed: those are retried later (nak with delay), the
   * others are acknowledged. Throwing fails them all.
   */
  handler: (items: BatchItem<T>[]) => Promise<ReadonlySet<number> | void>;
}

export interface BatchConsumption {
  stop(): Promise<void>;
  readonly done: Promise<void>;
}

/**
 * A durable JetStream consumer that coalesces: the first message is handled at once, and whatever
 * arrives meanwhile is handed over together next time, so a burst costs a few handler calls (one
 * nft transaction, one round of pipelined Redis calls) instead of one per message. Invalid messages
 * are counted, logged (rate-limited) and terminated, as consumeDurable does.
 */
export async function consumeBatches<T>(opts: BatchConsumeOptions<T>): Promise<BatchConsumption> {
  const { bus } = opts;
  await ensureConsumer(opts);
  let stopped = false;
  let messages: ConsumerMessages | undefined;
  const pending: JsMsg[] = [];
  let wake: (() => void) | undefined;
  const signal = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };

  const reader = (async () => {
    while (!stopped) {
      try {
        const consumer = await bus.js.consumers.get(opts.stream, opts.durable);
        messages = await consumer.consume({ max_messages: Math.min(opts.maxAckPending, 4 * opts.maxBatch) });
        for await (const m of messages) {
          pending.push(m);
          signal();
          if (stopped) break;
        }
      } catch (e) {
        if (stopped) break;
        bus.log.warn({ err: describeError(e), durable: opts.durable }, 'consumer interrupted; resuming');
        await sleep(500);
        await ensureConsumer(opts).catch(() => undefined);
      }
    }
    signal();
  })();

  const worker = (async () => {
    while (!stopped || pending.length > 0) {
      if (pending.length === 0) {
        if (stopped) break;
        await new Promise<void>((r) => (wake = r));
        continue;
      }
      await handleGroup(opts, pending.splice(0, opts.maxBatch));
    }
  })();

  const done = Promise.all([reader, worker]).then(() => undefined);
  return {
    done,
    stop: async () => {
      stopped = true;
      await messages?.close().catch(() => undefined);
      signal();
      await done;
    },
  };
}

async function handleGroup<T>(opts: BatchConsumeOptions<T>, group: JsMsg[]): Promise<void> {
  const { bus } = opts;
  const items: BatchItem<T>[] = [];
  const msgs: JsMsg[] = [];
  const spans: Span[] = [];
  for (const m of group) {
    if (opts.skip?.(m.headers)) {
      m.ack();
      continue;
    }
    let value: T;
    try {
      value = opts.decode(m.data);
    } catch (e) {
      const { count, shouldLog } = bus.rejects.record(opts.contract.name);
      if (shouldLog) bus.log.warn({ subject: m.subject, rejected: count, err: describeError(e) }, 'rejected invalid message');
      m.term();
      continue;
    }
    const parent = extractTrace(m.headers);
    const span = tracer().startSpan(opts.spanName, { kind: SpanKind.CONSUMER, attributes: { 'messaging.destination': m.subject, 'messaging.batch.size': group.length } }, parent);
    spans.push(span);
    msgs.push(m);
    items.push({ value, subject: m.subject, redelivered: m.redelivered, ctx: trace.setSpan(parent, span) });
  }
  if (items.length === 0) return;
  let failed: ReadonlySet<number> | 'all';
  try {
    failed = (await opts.handler(items)) ?? new Set();
  } catch (e) {
    bus.log.error({ durable: opts.durable, count: items.length, err: describeError(e) }, 'handler failed; messages will be retried');
    failed = 'all';
  }
  for (let i = 0; i < msgs.length; i++) {
    const m = msgs[i]!;
    if (failed === 'all' || failed.has(i)) {
      spans[i]!.setStatus({ code: SpanStatusCode.ERROR });
      m.nak(Math.min(30_000, 500 * 2 ** Math.min(m.info.deliveryCount, 6)));
    } else m.ack();
    spans[i]!.end();
  }
}

async function ensureConsumer<T>(opts: BatchConsumeOptions<T>): Promise<void> {
  const { bus } = opts;
  try {
    const info = await bus.jsm.consumers.info(opts.stream, opts.durable);
    if (info.config.max_ack_pending !== opts.maxAckPending) await bus.jsm.consumers.update(opts.stream, opts.durable, { max_ack_pending: opts.maxAckPending });
    return;
  } catch (e) {
    if (!/not found/i.test(describeError(e))) throw e;
  }
  await bus.jsm.consumers
    .add(opts.stream, {
      durable_name: opts.durable,
      ack_policy: 'explicit' as ConsumerConfig['ack_policy'],
      deliver_policy: (opts.deliver === 'new' ? 'new' : 'all') as ConsumerConfig['deliver_policy'],
      ack_wait: 30 * 1e9,
      max_ack_pending: opts.maxAckPending,
    })
    .catch((e: unknown) => {
      if (!/already in use|exists/i.test(describeError(e))) throw e;
    });
}
