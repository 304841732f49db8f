import { AckPolicy, DeliverPolicy, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import { decodeMessage, describeError, sleep, STREAMS, type Bus, type Contract, type Logger, type StreamKey } from '@portcullis/shared';
import type { z } from 'zod';

export interface IntakeOptions<S extends z.ZodType> {
  bus: Bus;
  stream: StreamKey;
  durable: string;
  contract: Contract<S>;
  ackWaitMs: number;
  /** Messages delivered but not yet acked: how many a target may hold while it groups or retries. */
  maxAckPending: number;
  /** Called for each valid message; decides itself when to ack (the outbox holds messages). */
  onMessage(msg: JsMsg, value: z.output<S>): void;
  log: Logger;
}

export interface Intake {
  stop(): Promise<void>;
  readonly done: Promise<void>;
}

/**
 * A durable JetStream consumer whose messages are acked later, by whoever holds them (unlike
 * consumeDurable, which acks when its handler returns). Invalid messages are terminated.
 */
export async function startIntake<S extends z.ZodType>(opts: IntakeOptions<S>): Promise<Intake> {
  const streamName = STREAMS[opts.stream].name;
  await ensureConsumer(opts);
  let stopped = false;
  let messages: ConsumerMessages | undefined;
  const done = (async () => {
    while (!stopped) {
      try {
        const consumer = await opts.bus.js.consumers.get(streamName, opts.durable);
        messages = await consumer.consume({ max_messages: Math.min(1000, opts.maxAckPending) });
        for await (const m of messages) {
          let value: z.output<S>;
          try {
            value = decodeMessage(opts.contract, m.data);
          } catch (e) {
            const { count, shouldLog } = opts.bus.rejects.record(opts.contract.name);
            if (shouldLog) opts.log.warn({ subject: m.subject, rejected: count, err: describeError(e) }, 'rejected invalid message');
            m.term();
            continue;
          }
          opts.onMessage(m, value);
          if (stopped) break;
        }
      } catch (e) {
        if (stopped) break;
        opts.log.warn({ err: describeError(e), durable: opts.durable, stream: streamName }, 'notifier consumer interrupted; resuming');
        await sleep(500);
        await ensureConsumer(opts).catch(() => undefined);
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

async function ensureConsumer<S extends z.ZodType>(opts: IntakeOptions<S>): Promise<void> {
  const streamName = STREAMS[opts.stream].name;
  const ackWait = opts.ackWaitMs * 1e6;
  try {
    const info = await opts.bus.jsm.consumers.info(streamName, opts.durable);
    if (info.config.ack_wait !== ackWait || info.config.max_ack_pending !== opts.maxAckPending) {
      await opts.bus.jsm.consumers.update(streamName, opts.durable, { ack_wait: ackWait, max_ack_pending: opts.maxAckPending });
    }
    return;
  } catch (e) {
    if (!/not found/i.test(describeError(e))) throw e;
  }
  await opts.bus.jsm.consumers
    .add(streamName, {
      durable_name: opts.durable,
      ack_policy: AckPolicy.Explicit,
      // A new target is told about what happens from now on, not about the stream's past week.
      deliver_policy: DeliverPolicy.New,
      ack_wait: ackWait,
      max_ack_pending: opts.maxAckPending,
    })
    .catch((e: unknown) => {
      if (!/already in use|exists/i.test(describeError(e))) throw e;
    });
}
