import { randomBytes } from 'node:crypto';
import { CONTRACTS, STREAMS, type Service, type ServiceContext, type StreamKey } from '@portcullis/shared';
import type { Channel, Target } from './channels/types.js';
import { loadNotifierConfig } from './config/notifier-config.js';
import type { Env } from './config/secrets.js';
import { decisionEvent, floodEvent } from './content/events.js';
import { ackFloor, removeStaleConsumers } from './consumers.js';
import { DigestRunner } from './digest/digest-runner.js';
import { DoneSet, openNotifierBucket } from './delivery/done-log.js';
import { startIntake, type Intake } from './delivery/intake.js';
import { Outbox, type OutboxStats } from './delivery/outbox.js';
import { createReverseDns, type ReverseDns } from './reverse-dns.js';
import { durableName, targetId } from './targets.js';

export interface NotifierOptions {
  /** Environment for *_env secrets (default process.env). */
  env?: Env;
  /** Reverse DNS lookup (default: the system's resolvers through c-ares, bounded by reverse_dns_timeout). */
  reverseDns?: ReverseDns;
  /** How often targets are checked for a due notification (default 200 ms). */
  tickMs?: number;
}

export interface NotifierService extends Service {
  /** The running targets, for status output: label, held events, notifications sent, failures. */
  status(): ({ target: string } & OutboxStats)[];
}

/**
 * How many messages one target may hold un-acked (grouping, retrying). When a target reaches it,
 * JetStream stops delivering to that target only; a summary of what is held then frees the room.
 */
export const MAX_HELD_PER_TARGET = 10_000;
const PRUNE_EVERY_MS = 60_000;

/**
 * The notifier: for every configured target (an e-mail recipient, a webhook URL), a durable
 * JetStream consumer per stream it needs, an outbox that groups, rate-limits and retries, and a
 * done-set against duplicates after restarts. Plus the daily digest.
 */
export async function startNotifier(ctx: ServiceContext, opts: NotifierOptions = {}): Promise<NotifierService> {
  const { bus, log, clock } = ctx;
  const config = loadNotifierConfig(ctx.config, opts.env ? { env: opts.env } : {});
  const { common } = config;
  for (const warning of config.warnings) log.warn(warning);

  const channels: Channel[] = config.channels.map((c) => c.create({ log, clock }));
  const targets: { id: string; target: Target }[] = channels.flatMap((c) => c.targets).map((target) => ({ id: targetId(target), target }));
  const streamsOf = (t: Target): StreamKey[] => [
    ...(t.types.includes('ban') || t.types.includes('unban') ? (['decisions'] as const) : []),
    ...(t.types.includes('flood') ? (['flowAlerts'] as const) : []),
  ];
  const wanted = { decisions: new Set<string>(), flowAlerts: new Set<string>() };
  for (const { id, target } of targets) for (const s of streamsOf(target)) if (s === 'decisions' || s === 'flowAlerts') wanted[s].add(durableName(id));
  await removeStaleConsumers(bus, wanted, log);

  const closeChannels = async (): Promise<void> => {
    await Promise.all(channels.map((c) => c.close()));
  };
  if (targets.length === 0) {
    log.info('notifier: no e-mail recipients, webhooks or Slack URLs configured; nothing will be sent');
    return { name: 'notifier', status: () => [], stop: closeChannels };
  }

  const kv = await openNotifierBucket(bus);
  const instanceId = randomBytes(6).toString('hex');
  const created: Record<StreamKey, string> = {} as Record<StreamKey, string>;
  for (const s of ['decisions', 'flowAlerts'] as const) created[s] = (await bus.jsm.streams.info(STREAMS[s].name)).created;
  const reverseDns = common.reverseDns ? (opts.reverseDns ?? createReverseDns({ timeoutMs: common.reverseDnsTimeoutMs, clock })) : undefined;

  const outboxes: { outbox: Outbox; durable: string }[] = [];
  const intakes: Intake[] = [];
  const stopAll = async (): Promise<void> => {
    await Promise.all(intakes.map((i) => i.stop()));
    await Promise.all(outboxes.map(({ outbox }) => outbox.stop()));
    await closeChannels();
  };
  try {
    for (const { id, target } of targets) {
      const streams = streamsOf(target);
      if (streams.length === 0) continue;
      const durable = durableName(id);
      const done: Record<StreamKey, DoneSet | undefined> = { logs: undefined, failures: undefined, failureBatches: undefined, decisions: undefined, flowAlerts: undefined };
      for (const s of streams) done[s] = await DoneSet.load(kv, { targetId: id, stream: s, instanceId, streamCreated: created[s], log });
      const outbox = new Outbox({ target, common, clock, log, done, reverseDns });
      outboxes.push({ outbox, durable });
      const base = { bus, durable, ackWaitMs: common.ackWaitMs, maxAckPending: MAX_HELD_PER_TARGET, log };
      if (streams.includes('decisions')) {
        intakes.push(await startIntake({ ...base, stream: 'decisions', contract: CONTRACTS.decision, onMessage: (m, d) => outbox.offer('decisions', m, decisionEvent(d)) }));
      }
      if (streams.includes('flowAlerts')) {
        intakes.push(await startIntake({ ...base, stream: 'flowAlerts', contract: CONTRACTS.flowAlert, onMessage: (m, a) => outbox.offer('flowAlerts', m, floodEvent(a)) }));
      }
    }
  } catch (e) {
    await stopAll();
    throw e;
  }

  const digestTargets = targets.filter(({ target }) => target.types.includes('digest'));
  const digest = common.digestTime && digestTargets.length > 0 ? new DigestRunner({ bus, kv, clock, log, common, time: common.digestTime, targets: digestTargets }) : undefined;

  const tick = setInterval(() => {
    for (const { outbox } of outboxes) outbox.poll();
    digest?.tick();
  }, opts.tickMs ?? 200);
  const heartbeat = setInterval(() => {
    for (const { outbox } of outboxes) outbox.heartbeat();
  }, Math.max(500, Math.floor(common.ackWaitMs / 3)));
  const prune = setInterval(() => {
    for (const { outbox, durable } of outboxes) outbox.prune((stream) => ackFloor(bus, stream, durable));
  }, PRUNE_EVERY_MS);

  log.info(
    { targets: targets.map((t) => t.target.label), groupWindowMs: common.groupWindowMs, digestAt: digest ? new Date(digest.nextAt).toISOString() : null },
    'notifier started',
  );
  return {
    name: 'notifier',
    status: () => outboxes.map(({ outbox }) => ({ target: outbox.target.label, ...outbox.stats, held: outbox.size })),
    stop: async () => {
      clearInterval(tick);
      clearInterval(heartbeat);
      clearInterval(prune);
      await digest?.stop();
      await stopAll();
    },
  };
}
