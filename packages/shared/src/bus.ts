import { connect, headers, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import type { z } from 'zod';
import { decodeMessage, encodeMessage, RejectCounter } from './codec.js';
import type { Contract } from './contracts/index.js';
import { describeError, PortcullisError } from './errors.js';
import type { Logger } from './logger.js';
import { STREAMS, type StreamKey } from './subjects.js';
import { context, extractTrace, injectTrace, withSpan } from './tracing.js';

export interface Bus {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly rejects: RejectCounter;
  readonly log: Logger;
  close(): Promise<void>;
}

export interface BusOptions {
  url: string;
  /** Connection name shown by the server (service@host). */
  name: string;
  log: Logger;
  /** How long to keep trying the first connection before giving up. */
  connectTimeoutMs?: number;
}

/**
 * Connects to NATS and keeps reconnecting forever: a service outlives a restarted server. JetStream
 * publishes fail while the server is away; callers that must not lose data retry (see publishDurable).
 */
export async function connectBus(opts: BusOptions): Promise<Bus> {
  const deadline = Date.now() + (opts.connectTimeoutMs ?? 15_000);
  let nc: NatsConnection | undefined;
  let lastErr: unknown;
  while (!nc && Date.now() < deadline) {
    try {
      nc = await connect({
        servers: opts.url,
        name: opts.name,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 250,
        reconnectJitter: 100,
        pingInterval: 5_000,
        maxPingOut: 3,
      });
    } catch (e) {
      lastErr = e;
      await sleep(250);
    }
  }
  if (!nc) throw new PortcullisError('PC_NATS_UNAVAILABLE', `cannot connect to NATS at ${opts.url}: ${describeError(lastErr)}`, { cause: lastErr });
  const conn = nc;
  const log = opts.log;
  void (async () => {
    for await (const s of conn.status()) {
      if (s.type === 'disconnect') log.warn({ server: s.server }, 'NATS disconnected; reconnecting');
      else if (s.type === 'reconnect') log.info({ server: s.server }, 'NATS reconnected');
    }
  })().catch(() => undefined);
  const js = jetstream(conn);
  const jsm = await jetstreamManager(conn);
  return {
    nc: conn,
    js,
    jsm,
    rejects: new RejectCounter(),
    log,
    close: async () => {
      if (!conn.isClosed()) await conn.drain().catch(() => conn.close());
    },
  };
}

const STREAM_LIMITS: Record<StreamKey, { maxAgeS: number; maxBytes: number }> = {
  // Raw lines are only needed until a matcher has read them.
  logs: { maxAgeS: 24 * 3600, maxBytes: 4 * 1024 ** 3 },
  failures: { maxAgeS: 7 * 24 * 3600, maxBytes: 1024 ** 3 },
  failureBatches: { maxAgeS: 7 * 24 * 3600, maxBytes: 1024 ** 3 },
  // Decisions are replayed by a host that was away; the ban store is the truth after that.
  decisions: { maxAgeS: 7 * 24 * 3600, maxBytes: 1024 ** 3 },
  flowAlerts: { maxAgeS: 30 * 24 * 3600, maxBytes: 256 * 1024 ** 2 },
};

/** Creates (or updates) every Portcullis stream. Idempotent; every service calls it at start. */
export async function ensureStreams(bus: Bus): Promise<void> {
  for (const key of Object.keys(STREAMS) as StreamKey[]) {
    const s = STREAMS[key];
    const limits = STREAM_LIMITS[key];
    const cfg = { subjects: [...s.subjects], max_age: limits.maxAgeS * 1e9, max_bytes: limits.maxBytes, duplicate_window: 120 * 1e9 };
    try {
      await bus.jsm.streams.info(s.name);
      await bus.jsm.streams.update(s.name, cfg);
    } catch (e) {
      if (!isNotFound(e)) throw new PortcullisError('PC_NATS_UNAVAILABLE', `cannot inspect stream ${s.name}: ${describeError(e)}`, { cause: e });
      try {
        await bus.jsm.streams.add({ name: s.name, ...cfg });
      } catch (e2) {
        // Another service created it at the same moment.
        if (!/already in use|exists/i.test(describeError(e2))) throw e2;
      }
    }
  }
}

function isNotFound(e: unknown): boolean {
  return /not found/i.test(describeError(e));
}

function traceHeaders(msgId?: string, extra?: Readonly<Record<string, string>>): MsgHdrs {
  const h = headers();
  injectTrace(h, context.active());
  if (msgId) h.set('Nats-Msg-Id', msgId);
  for (const [k, v] of Object.entries(extra ?? {})) h.set(k, v);
  return h;
}

/**
 * Publishes to JetStream and waits for the server's acknowledgement: when this resolves the
 * message is stored. `msgId` lets the server drop a duplicate re-published after a crash.
 */
export async function publishDurable<S extends z.ZodType>(
  bus: Bus,
  contract: Contract<S>,
  subject: string,
  value: z.input<S>,
  msgId?: string,
  /** Extra NATS headers (e.g. the banner's Portcullis-Batched marker). */
  extraHeaders?: Readonly<Record<string, string>>,
): Promise<void> {
  await publishDurableEncoded(bus, subject, encodeMessage(contract, value), msgId, extraHeaders);
}

/**
 * publishDurable for a payload its producer encoded itself and answers for matching the subject's
 * contract (the banner validates a decision batch, then writes it from the decisions' JSON).
 */
export async function publishDurableEncoded(bus: Bus, subject: string, data: Uint8Array, msgId?: string, extraHeaders?: Readonly<Record<string, string>>): Promise<void> {
  await bus.js.publish(subject, data, { headers: traceHeaders(msgId, extraHeaders), timeout: 5_000 });
}

/**
 * Fire-and-forget publish (samples, replies): no durability needed. On a JetStream subject the
 * stream still stores it (with `msgId` de-duplicated), without a per-message acknowledgement.
 */
export function publishCore<S extends z.ZodType>(
  bus: Bus,
  contract: Contract<S>,
  subject: string,
  value: z.input<S>,
  opts: { msgId?: string; headers?: Readonly<Record<string, string>> } = {},
): void {
  bus.nc.publish(subject, encodeMessage(contract, value), { headers: traceHeaders(opts.msgId, opts.headers) });
}

/**
 * publishCore for a payload that is already encoded and was validated against the subject's
 * contract on its way there: the banner's single decisions, each validated as part of the decision
 * batch it was published in, which spares a mass ban a second validation of 50,000 decisions.
 */
export function publishCoreEncoded(bus: Bus, subject: string, data: Uint8Array, opts: { msgId?: string; headers?: Readonly<Record<string, string>> } = {}): void {
  bus.nc.publish(subject, data, { headers: traceHeaders(opts.msgId, opts.headers) });
}

export interface ConsumeOptions<S extends z.ZodType> {
  stream: StreamKey;
  /** Durable consumer name: instances sharing it share the work (each message goes to one). */
  durable: string;
  contract: Contract<S>;
  filterSubject?: string;
  /** Where a newly created consumer starts. */
  deliver?: 'all' | 'new';
  maxAckPendingPerBatch?: number;
  /** Resolve = processed (acked). Throw = retried later (nak with delay). */
  handler: (msg: z.output<S>, meta: { subject: string; redelivered: boolean }) => Promise<void>;
  spanName: string;
}

export interface Consumption {
  stop(): Promise<void>;
  /** Resolves when the consume loop has ended. */
  readonly done: Promise<void>;
}

/**
 * Consumes a durable JetStream consumer. Invalid messages are counted, logged (rate-limited) and
 * terminated so they are never redelivered; they never reach the handler.
 */
export async function consumeDurable<S extends z.ZodType>(bus: Bus, opts: ConsumeOptions<S>): Promise<Consumption> {
  const streamName = STREAMS[opts.stream].name;
  await ensureConsumer(bus, streamName, opts);
  let stopped = false;
  let messages: ConsumerMessages | undefined;
  const done = (async () => {
    while (!stopped) {
      try {
        const consumer = await bus.js.consumers.get(streamName, opts.durable);
        messages = await consumer.consume({ max_messages: opts.maxAckPendingPerBatch ?? 256 });
        for await (const m of messages) {
          await handleOne(bus, opts, m);
          if (stopped) break;
        }
      } catch (e) {
        if (stopped) break;
        bus.log.warn({ err: describeError(e), durable: opts.durable }, 'consumer interrupted; resuming');
        await sleep(500);
        await ensureConsumer(bus, streamName, opts).catch(() => undefined);
      }
    }
  })();
  return {
    done,
    stop: async () => {
      stopped = true;
      await messages?.close().catch(() => undefined);
      await done;
    },
  };
}

async function ensureConsumer<S extends z.ZodType>(bus: Bus, streamName: string, opts: ConsumeOptions<S>): Promise<void> {
  try {
    await bus.jsm.consumers.info(streamName, opts.durable);
  } catch (e) {
    if (!isNotFound(e)) throw e;
    await bus.jsm.consumers
      .add(streamName, {
        durable_name: opts.durable,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: opts.deliver === 'new' ? DeliverPolicy.New : DeliverPolicy.All,
        ack_wait: 30 * 1e9,
        max_ack_pending: 10_000,
        ...(opts.filterSubject ? { filter_subject: opts.filterSubject } : {}),
      })
      .catch((e2: unknown) => {
        if (!/already in use|exists/i.test(describeError(e2))) throw e2;
      });
  }
}

async function handleOne<S extends z.ZodType>(bus: Bus, opts: ConsumeOptions<S>, m: JsMsg): Promise<void> {
  let value: z.output<S>;
  try {
    value = decodeMessage(opts.contract, m.data);
  } catch (e) {
    const { count, shouldLog } = bus.rejects.record(opts.contract.name);
    if (shouldLog) bus.log.warn({ subject: m.subject, rejected: count, err: describeError(e) }, 'rejected invalid message');
    m.term();
    return;
  }
  const parent = extractTrace(m.headers);
  try {
    await withSpan(opts.spanName, parent, { 'messaging.destination': m.subject }, () =>
      opts.handler(value, { subject: m.subject, redelivered: m.redelivered }),
    );
    m.ack();
  } catch (e) {
    bus.log.error({ subject: m.subject, err: describeError(e) }, 'handler failed; message will be retried');
    m.nak(Math.min(30_000, 500 * 2 ** Math.min(m.info.deliveryCount, 6)));
  }
}

/** Core-NATS subscription with the same validation and reject counting. */
export function subscribeCore<S extends z.ZodType>(
  bus: Bus,
  subject: string,
  contract: Contract<S>,
  handler: (msg: z.output<S>, raw: { subject: string; reply?: string; respond: (data: Uint8Array) => boolean }) => Promise<void> | void,
  opts: { queue?: string } = {},
): { stop(): void } {
  const sub = bus.nc.subscribe(subject, opts.queue ? { queue: opts.queue } : {});
  void (async () => {
    for await (const m of sub) {
      let value: z.output<S>;
      try {
        value = decodeMessage(contract, m.data);
      } catch (e) {
        const { count, shouldLog } = bus.rejects.record(contract.name);
        if (shouldLog) bus.log.warn({ subject: m.subject, rejected: count, err: describeError(e) }, 'rejected invalid message');
        if (m.reply) m.respond(new TextEncoder().encode(JSON.stringify({ v: 1, ok: false, error: { code: 'PC_MESSAGE_INVALID', message: describeError(e) } })));
        continue;
      }
      try {
        await handler(value, { subject: m.subject, ...(m.reply ? { reply: m.reply } : {}), respond: (d) => m.respond(d) });
      } catch (e) {
        bus.log.error({ subject: m.subject, err: describeError(e) }, 'handler failed');
      }
    }
  })();
  return { stop: () => sub.unsubscribe() };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
