import { describeError, sleep, STREAMS, SUBJECTS, type Bus } from '@portcullis/shared';

type PullConsumer = Awaited<ReturnType<Bus['js']['consumers']['get']>>;
type Messages = Awaited<ReturnType<PullConsumer['consume']>>;
/** A JetStream message (the client's JsMsg, named through the shared Bus type). */
export type JsMsg = Messages extends AsyncIterable<infer T> ? T : never;

/**
 * Source affinity for the matcher (multi-line and <F-MLFID> state is per source, and a source's
 * lines must meet it in order, whichever instance runs).
 *
 * 1. The router: one durable consumer ("matcher-router") on the log stream with at most one
 *    message in flight, so batches keep their stream order. It re-publishes each batch unchanged
 *    (bytes and trace headers) to `portcullis.v1.log.part.<k>.<host>`, k = hash(host) mod PARTITIONS,
 *    de-duplicated by the log stream sequence. Any instance may run it; only one message moves at
 *    a time.
 * 2. Partition consumers: durable "matcher-part-<k>" per partition, each with at most one message
 *    in flight, pulled by every instance. A partition's batches are thus handled one after the
 *    other, in order, by whichever instance is free: instances share the load across partitions.
 * 3. The state of a (jail, source) lives in Redis between batches (state-store.ts): loaded before a
 *    batch, saved after it, so the next batch of the source finds it on any instance.
 */
export const PARTITION_STREAM = 'PORTCULLIS_LOG_PARTS';
export const DEFAULT_PARTITIONS = 16;
export const ROUTER_DURABLE = 'matcher-router';

const LOG_PREFIX = `${SUBJECTS.logLines}.`;

export function partitionSubject(k: number): string {
  return `${SUBJECTS.logPartitions}.${k}`;
}

const PART_PREFIX = `${SUBJECTS.logPartitions}.`;

/** The log subject a partitioned message was first published on (part.<k>.<host> -> lines.<host>). */
export function originalSubject(partSubject: string): string {
  if (!partSubject.startsWith(PART_PREFIX)) return partSubject;
  const rest = partSubject.slice(PART_PREFIX.length);
  const dot = rest.indexOf('.');
  return dot < 0 ? partSubject : `${LOG_PREFIX}${rest.slice(dot + 1)}`;
}

/** FNV-1a of the host token: stable across instances and releases. */
export function partitionOf(hostToken: string, partitions: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < hostToken.length; i++) {
    h ^= hostToken.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % partitions;
}

export async function ensurePartitionStream(bus: Bus): Promise<void> {
  const cfg = {
    subjects: [`${SUBJECTS.logPartitions}.>`],
    // Partitioned batches only wait for a matcher; the log stream keeps the originals.
    max_age: 24 * 3600 * 1e9,
    max_bytes: 4 * 1024 ** 3,
    duplicate_window: 120 * 1e9,
  };
  try {
    await bus.jsm.streams.info(PARTITION_STREAM);
  } catch {
    await bus.jsm.streams.add({ name: PARTITION_STREAM, ...cfg }).catch((e: unknown) => {
      if (!/already in use|exists/i.test(describeError(e))) throw e;
    });
  }
}

async function ensureSerialConsumer(bus: Bus, stream: string, durable: string, filter: string): Promise<void> {
  try {
    await bus.jsm.consumers.info(stream, durable);
  } catch {
    await bus.jsm.consumers
      .add(stream, {
        durable_name: durable,
        ack_policy: 'explicit',
        deliver_policy: 'all',
        ack_wait: 30 * 1e9,
        // One message in flight: the order of the stream is the order of processing.
        max_ack_pending: 1,
        filter_subject: filter,
      })
      .catch((e: unknown) => {
        if (!/already in use|exists/i.test(describeError(e))) throw e;
      });
  }
}

export interface Loop {
  stop(): Promise<void>;
}

/** Pulls one durable consumer for ever (re-attaching after errors) and hands messages to `onMsg`. */
async function pullLoop(bus: Bus, stream: string, durable: string, filter: string, onMsg: (m: JsMsg) => Promise<void>): Promise<Loop> {
  await ensureSerialConsumer(bus, stream, durable, filter);
  let stopped = false;
  let messages: { close(): Promise<void | Error> } | undefined;
  const done = (async () => {
    while (!stopped) {
      try {
        const consumer = await bus.js.consumers.get(stream, durable);
        const it = await consumer.consume({ max_messages: 1 });
        messages = it;
        for await (const m of it) {
          await onMsg(m);
          if (stopped) break;
        }
      } catch (e) {
        if (stopped) break;
        bus.log.warn({ err: describeError(e), durable }, 'consumer interrupted; resuming');
        await sleep(500);
        await ensureSerialConsumer(bus, stream, durable, filter).catch(() => undefined);
      }
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await messages?.close().catch(() => undefined);
      await done;
    },
  };
}

/** The router (step 1). */
export function startRouter(bus: Bus, partitions: number): Promise<Loop> {
  return pullLoop(bus, STREAMS.logs.name, ROUTER_DURABLE, `${SUBJECTS.logLines}.>`, async (m) => {
    const host = m.subject.startsWith(LOG_PREFIX) ? m.subject.slice(LOG_PREFIX.length) : m.subject;
    // The batch keeps its bytes and trace headers; the log stream sequence de-duplicates a retry.
    const msgID = `log-${m.seq}`;
    const h = m.headers;
    h?.set('Nats-Msg-Id', msgID);
    try {
      // The host token stays in the subject, so logs can name the subject the batch came on.
      await bus.js.publish(`${partitionSubject(partitionOf(host, partitions))}.${host}`, m.data, { ...(h ? { headers: h } : {}), msgID, timeout: 5_000 });
      m.ack();
    } catch (e) {
      bus.log.warn({ err: describeError(e), subject: m.subject }, 'could not route a log batch; retrying');
      m.nak(1_000);
    }
  });
}

/** The partition consumers (step 2): `onMsg` resolves when the batch is done (then it is acked). */
export async function consumePartitions(bus: Bus, partitions: number, onMsg: (m: JsMsg) => Promise<void>): Promise<Loop> {
  const loops: Loop[] = [];
  for (let k = 0; k < partitions; k++) loops.push(await pullLoop(bus, PARTITION_STREAM, `matcher-part-${k}`, `${partitionSubject(k)}.>`, onMsg));
  return { stop: async () => void (await Promise.all(loops.map((l) => l.stop()))) };
}
