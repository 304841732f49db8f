import { describeError, type BanDecisionV1, type FailureEventV1, type Logger } from '@portcullis/shared';
import { banDecision } from './decision.js';
import type { JailRuntime } from './jail-runtime.js';
import type { BanRecord, BanStore } from './store/index.js';
import { normalizeIp, type HostTrustRegistry } from './trust/index.js';

export interface DecideDeps {
  jails: ReadonlyMap<string, JailRuntime>;
  store: BanStore;
  host: string;
  log: Logger;
  hostTrust: HostTrustRegistry;
  publish: (d: BanDecisionV1) => Promise<void>;
}

/**
 * A ban just decided in one jail counts as a "failure" for every recidive jail: banned again and
 * again anywhere -> the long all-ports ban.
 */
export function createRecidiveFeeder(deps: Pick<DecideDeps, 'jails' | 'store' | 'host' | 'log' | 'publish'>) {
  const targets = [...deps.jails.values()].filter((j) => j.recidive);
  return async (ban: BanRecord): Promise<void> => {
    for (const r of targets) {
      if (r.config.name === ban.jail) continue;
      if (r.trust.isTrusted(ban.ip)) continue;
      const c = r.config;
      const res = await deps.store.feedRecidive(ban, { jail: c.name, maxretry: c.maxretry, findtime: c.findtime, bantime: c.bantime, escalation: r.escalation });
      if (res.ban) {
        deps.log.info({ jail: c.name, ip: ban.ip, bans: res.failures }, `recidive: ban ${ban.ip} on all ports`);
        await deps.publish(banDecision(res.ban, deps.host));
      }
    }
  };
}

/**
 * One failure event in, at most one ban decision out. Throwing makes the bus redeliver the event
 * later (e.g. Redis is down): the event id keeps a redelivery from being counted twice.
 */
export function createDecider(deps: DecideDeps): (ev: FailureEventV1) => Promise<void> {
  const unknownJails = new Set<string>();
  const feedRecidive = createRecidiveFeeder(deps);
  /**
   * The trust of the host that saw the failure decides whether it counts (see HostTrustRegistry);
   * the fleet-wide list added at run time is checked by the store itself whoever decides.
   */
  const trusted = async (jail: JailRuntime, ev: FailureEventV1, ip: string): Promise<boolean> => {
    if (ev.host !== deps.host) {
      const remote = await deps.hostTrust.trustedBy(ev.host, ev.jail, ip);
      if (remote !== undefined) return remote;
    }
    return (await jail.trust.check(ip)).trusted;
  };
  return async (ev) => {
    const jail = deps.jails.get(ev.jail);
    if (!jail || jail.recidive) {
      if (!unknownJails.has(ev.jail)) deps.log.warn({ jail: ev.jail, host: ev.host }, 'failure for a jail this banner does not run; ignored');
      unknownJails.add(ev.jail);
      return;
    }
    let ip: string;
    try {
      ip = normalizeIp(ev.ip);
    } catch (e) {
      deps.log.warn({ ip: ev.ip, err: describeError(e) }, 'failure with an invalid address; ignored');
      return;
    }
    if (await trusted(jail, ev, ip)) {
      deps.log.debug({ jail: ev.jail, ip, seenOn: ev.host }, 'failure of a trusted address; not counted');
      return;
    }
    const c = jail.config;
    const res = await deps.store.recordFailure({
      eventId: ev.id,
      jail: ev.jail,
      ip,
      at: ev.at,
      maxretry: c.maxretry,
      findtime: c.findtime,
      bantime: c.bantime,
      escalation: jail.escalation,
      ...(ev.line !== undefined ? { matches: [ev.line] } : {}),
      origin: ev.producer === 'external' ? 'external' : 'log',
      host: ev.host,
    });
    if (res.ban) {
      deps.log.info({ jail: ev.jail, ip, failures: res.failures, until: res.ban.until, banCount: res.ban.banCount }, `ban ${ip} in ${ev.jail}`);
      await deps.publish(banDecision(res.ban, deps.host));
      await feedRecidive(res.ban);
    }
  };
}
