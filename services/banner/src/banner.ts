import {
  CONTRACTS,
  consumeDurable,
  describeError,
  subjectToken,
  subscribeCore,
  SUBJECTS,
  type Consumption,
  type Redis,
  type Service,
  type ServiceContext,
} from '@portcullis/shared';
import { createControlHandler, encodeReply } from './control.js';
import { createDecider, createRecidiveFeeder } from './decide.js';
import { historyTtls } from './escalation/index.js';
import { createEnforcer } from './enforce.js';
import { startExpirySweep } from './expiry.js';
import type { FirewallBackend } from './firewall/backend.js';
import { loadServiceTable } from './firewall/etc-services.js';
import { createJailActions } from './firewall/command/jail-actions.js';
import { builtinFirewallRegistry } from './firewall/registry.js';
import { buildJailRuntimes } from './jail-runtime.js';
import { publishDecision, publishDecisions } from './publish-decision.js';
import { createBanStore } from './store/index.js';
import { createDynamicTrust, createHostTrustRegistry } from './trust/index.js';

export interface BannerDeps {
  redis: Redis;
  /** Defaults to the backend named by the config's `firewall` setting. */
  firewall?: FirewallBackend;
}

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

  const publishAll = (ds: Parameters<typeof publishDecisions>[1]) => publishDecisions(bus, ds);
  const consumptions: Consumption[] = [];
  // The enforcement consumer exists before the store is read, so no decision falls between the
  // snapshot and the subscription; its messages wait until the snapshot has been applied.
  let reconciled!: () => void;
  const reconcileDone = new Promise<void>((r) => (reconciled = r));
  consumptions.push(
    await consumeDurable(bus, {
      stream: 'decisions',
      durable: `banner-enforce-${subjectToken(host)}`,
      // A new host starts from "now": reconcile has just brought it up to date with the store.
      deliver: 'new',
      contract: CONTRACTS.decision,
      spanName: 'banner.enforce',
      handler: async (d) => {
        await reconcileDone;
        await enforcer.apply(d);
      },
    }),
  );
  const restored = await enforcer.reconcile(await store.activeBans());
  reconciled();
  log.info({ restored, jails: [...jails.keys()], firewall: firewall.name }, 'firewall reconciled with the ban store');
  consumptions.push(
    await consumeDurable(bus, {
      stream: 'failures',
      durable: 'banner-decider',
      contract: CONTRACTS.failure,
      spanName: 'banner.decide',
      handler: createDecider({ jails, store, host, log, hostTrust, publish: (d) => publishDecision(bus, d) }),
    }),
  );
  const feedRecidive = createRecidiveFeeder({ jails, store, host, log, publish: (d) => publishDecision(bus, d) });
  const control = createControlHandler({ jails, store, host, clock, log, redis: deps.redis, publishAll, feedRecidive });
  const controlSub = subscribeCore(
    bus,
    SUBJECTS.control,
    CONTRACTS.controlRequest,
    async (req, raw) => {
      raw.respond(encodeReply(await control(req)));
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
      await Promise.all(consumptions.map((c) => c.stop()));
      for (const j of jails.values()) j.trust.stop();
      hostTrust.stop();
      await dynamic.stop();
      // Bans stay in the kernel (with their timeouts) while the banner is down.
      firewall.close();
    },
  };
}
