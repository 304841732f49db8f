import {
  context,
  CONTRACTS,
  decodeMessage,
  describeError,
  STREAMS,
  subjectToken,
  subscribeCore,
  SUBJECTS,
  withSpan,
  type Redis,
  type Service,
  type ServiceContext,
} from '@portcullis/shared';
import { consumeBatches, type BatchConsumption } from './batch-consumer.js';
import { createControlHandler, encodeReply } from './control.js';
import { DECISION_BATCH_STREAM_NAME, ensureDecisionBatchStream } from './decision-stream.js';
import { createDecider, createRecidivePublisher, itemOfBatch, itemOfEvent } from './decide.js';
import { historyTtls } from './escalation/index.js';
import { createEnforcer } from './enforce.js';
import { startExpirySweep } from './expiry.js';
import type { FirewallBackend } from './firewall/backend.js';
import { loadServiceTable } from './firewall/etc-services.js';
import { createJailActions } from './firewall/command/jail-actions.js';
import { builtinFirewallRegistry } from './firewall/registry.js';
import { buildJailRuntimes } from './jail-runtime.js';
import { BATCHED_HEADER, DecisionFanout } from './publish-decision.js';
import { startReconciler } from './reconciler.js';
import { createBanStore } from './store/index.js';
import { createDynamicTrust, createHostTrustRegistry } from './trust/index.js';

export interface BannerDeps {
  redis: Redis;
  /** Defaults to the backend named by the config's `firewall` setting. */
  firewall?: FirewallBackend;
  /** How often the firewall is reconciled with the store besides start and reconnect. Default 10 min. */
  reconcileIntervalMs?: number;
}

/** Failure events handed to the decider at once (their Redis calls are pipelined). */
const DECIDE_BATCH = 4096;
/** Failure batches (up to 10,000 failures each) handed to the decider at once. */
const DECIDE_BATCHES = 8;
/** Decision batches applied in one firewall transaction. */
const ENFORCE_BATCH = 64;

/**
 * The banner decides bans (shared work: one decider consumer for all banners) and enforces every
 * decision on this host's firewall (its own consumer per host).
 */
export async function startBanner(ctx: ServiceContext, deps: BannerDeps): Promise<Service> {
  const { bus, log, clock, config } = ctx;
  const host = config.settings.host;
  const dynamic = await createDynamicTrust(deps.redis, { onError: (e) => log.warn({ err: describeError(e) }, 'reloading the fleet-wide trusted list failed') });
  const jails = await buildJailRuntimes(config.jails, {
    clock,
    configDir: config.dir,
    services: loadServiceTable(),
    dynamic,
    onTrustError: (jail, e) => log.warn({ jail, err: describeError(e) }, 'trust check failed (host name or ignorecommand)'),
  });
  for (const j of jails.values()) for (const w of j.escalation.warnings) log.warn({ jail: j.config.name }, w);
  const hostTrust = await createHostTrustRegistry({
    redis: deps.redis,
    host,
    clock,
    log,
    local: () => Object.fromEntries([...jails.values()].map((j) => [j.config.name, j.trust.snapshot()])),
  });
  // Each jail's actions: kernel enforcement through the backend its banaction names (nftables,
  // iptables), plus fail2ban command actions from action.d.
  const firewall =
    deps.firewall ??
    createJailActions({ main: config.settings.firewall, registry: builtinFirewallRegistry(), backendOptions: { table: config.settings.nftTable, log }, stateDir: ctx.stateDir, log, clock });
  await firewall.setup([...jails.values()].map((j) => j.enforcement));

  const policies = new Map([...jails.values()].map((j) => [j.config.name, j.escalation]));
  const store = createBanStore(deps.redis, { clock, host, historyTtlByJail: historyTtls(config.jails, policies), trustGate: dynamic });
  const enforcer = createEnforcer({ jails, firewall, clock, log });

  // The enforcement consumer exists before the store is read, so no decision falls between the
  // snapshot and the subscription; its messages wait until the snapshot has been applied.
  let reconciled!: () => void;
  const reconcileDone = new Promise<void>((r) => (reconciled = r));
  // This host enforces the decisions it makes itself at once; the other hosts from the stream.
  // Under the deciding round's trace (the active context here), as the consumer's would be.
  const fanout = new DecisionFanout(bus, log, {
    applyGroups: async (groups) => {
      await reconcileDone;
      return withSpan('banner.enforce', context.active(), { 'portcullis.decisions': groups.reduce((n, g) => n + g.length, 0) }, () => enforcer.applyGroups(groups));
    },
    idle: (maxMs) => enforcer.idle(maxMs),
  });
  const publishAll = (ds: Parameters<DecisionFanout['publish']>[0], ctxs?: Parameters<DecisionFanout['publish']>[1]) => fanout.publish(ds, ctxs);
  await ensureDecisionBatchStream(bus);
  const consumptions: BatchConsumption[] = [];
  consumptions.push(
    await consumeBatches({
      bus,
      stream: DECISION_BATCH_STREAM_NAME,
      durable: `banner-enforce-batch-${subjectToken(host)}`,
      // A new host starts from "now": reconcile has just brought it up to date with the store.
      deliver: 'new',
      contract: CONTRACTS.decisionBatch,
      decode: (data) => decodeMessage(CONTRACTS.decisionBatch, data),
      // batches this banner published are already enforced here (their Nats-Msg-Id is the batch id)
      skip: (h) => fanout.enforced.take(h?.get('Nats-Msg-Id')),
      maxBatch: ENFORCE_BATCH,
      maxAckPending: 1_000,
      spanName: 'banner.enforce',
      handler: async (items) => {
        await reconcileDone;
        return enforcer.applyGroups(items.map((i) => i.value.decisions));
      },
    }),
  );
  // Single decisions: those also sent in a batch are skipped unread; the others (from a banner of
  // an earlier version, during a rolling upgrade) are enforced as they come.
  consumptions.push(
    await consumeBatches({
      bus,
      stream: STREAMS.decisions.name,
      durable: `banner-enforce-${subjectToken(host)}`,
      deliver: 'new',
      contract: CONTRACTS.decision,
      decode: (data) => decodeMessage(CONTRACTS.decision, data),
      skip: (h) => h?.has(BATCHED_HEADER) ?? false,
      maxBatch: 1_024,
      maxAckPending: 10_000,
      spanName: 'banner.enforce',
      handler: async (items) => {
        await reconcileDone;
        return enforcer.applyGroups(items.map((i) => [i.value]));
      },
    }),
  );
  const reconciler = startReconciler({ enforcer, store, log, bus, intervalMs: deps.reconcileIntervalMs ?? 10 * 60_000 });
  await reconciler.run('start');
  reconciled();
  log.info({ jails: [...jails.keys()], firewall: firewall.name }, 'banner enforcing');
  // One decider for both ways failures come in, so a round of either is recorded together; the two
  // consumers are shared by all banners (each message goes to one of them).
  const decide = createDecider({ jails, store, host, log, hostTrust, publish: publishAll });
  consumptions.push(
    await consumeBatches({
      bus,
      stream: STREAMS.failureBatches.name,
      durable: 'banner-decider-batch',
      deliver: 'all',
      contract: CONTRACTS.failureBatch,
      decode: (data) => decodeMessage(CONTRACTS.failureBatch, data),
      maxBatch: DECIDE_BATCHES,
      maxAckPending: 1_000,
      spanName: 'banner.decide',
      handler: (items) => decide(items.map((i) => itemOfBatch(i.value, i.ctx))),
    }),
  );
  consumptions.push(
    await consumeBatches({
      bus,
      stream: STREAMS.failures.name,
      durable: 'banner-decider',
      deliver: 'all',
      contract: CONTRACTS.failure,
      decode: (data) => decodeMessage(CONTRACTS.failure, data),
      maxBatch: DECIDE_BATCH,
      maxAckPending: 10_000,
      spanName: 'banner.decide',
      handler: (items) => decide(items.map((i) => itemOfEvent(i.value, i.ctx))),
    }),
  );
  const feedRecidive = createRecidivePublisher({ jails, store, host, log, publish: publishAll });
  const control = createControlHandler({ jails, store, host, clock, log, redis: deps.redis, publishAll, feedRecidive });
  const controlSub = subscribeCore(
    bus,
    SUBJECTS.control,
    CONTRACTS.controlRequest,
    (req, raw) => {
      if (req.op === 'ban' || req.op === 'unban') log.info({ op: req.op, jail: req.jail, count: req.ips.length }, 'control request received');
      // Not awaited: requests are handled side by side (a CLI call of 50,000 addresses arrives as
      // several requests; one after the other, each waited for the store round trips of the last).
      void control(req)
        .then((reply) => raw.respond(encodeReply(reply)))
        .catch((e: unknown) => log.error({ op: req.op, err: describeError(e) }, 'control reply failed'));
    },
    { queue: 'banner' },
  );
  const expiry = startExpirySweep({ store, clock, log, host, publishAll });
  log.info('banner started');

  return {
    name: 'banner',
    stop: async () => {
      controlSub.stop();
      await expiry.stop();
      reconciler.stop();
      await Promise.all(consumptions.map((c) => c.stop()));
      await fanout.flush();
      for (const j of jails.values()) j.trust.stop();
      hostTrust.stop();
      await dynamic.stop();
      // Bans stay in the kernel (with their timeouts) while the banner is down.
      firewall.close();
    },
  };
}
