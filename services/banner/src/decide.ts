import { context, describeError, type BanDecisionV1, type Context, type FailureEventV1, type Logger } from '@portcullis/shared';
import { banDecision } from './decision.js';
import type { JailRuntime } from './jail-runtime.js';
import type { BanRecord, BanStore } from './store/index.js';
import { normalizeIp, type HostTrustRegistry } from './trust/index.js';

/** Publishes decisions (enforcement batches first); contexts[i] is decision i's trace context. */
export type PublishDecisions = (ds: BanDecisionV1[], contexts?: Context[]) => Promise<void>;

export interface DecideDeps {
  jails: ReadonlyMap<string, JailRuntime>;
  store: BanStore;
  host: string;
  log: Logger;
  hostTrust: HostTrustRegistry;
  publish: PublishDecisions;
}

/** Failures whose Redis calls are in flight at once (pipelined on one connection). */
const CONCURRENCY = 1024;
/** Above this many bans in one round, one summary line is logged instead of one line per ban. */
const LOG_EACH_UP_TO = 20;

/**
 * A ban just decided in one jail counts as a "failure" for every recidive jail: banned again and
 * again anywhere -> the long all-ports ban. Returns the recidive bans it decided.
 */
export function createRecidiveFeeder(deps: Pick<DecideDeps, 'jails' | 'store' | 'log'>) {
  const targets = [...deps.jails.values()].filter((j) => j.recidive);
  return async (ban: BanRecord): Promise<BanRecord[]> => {
    const out: BanRecord[] = [];
    for (const r of targets) {
      if (r.config.name === ban.jail) continue;
      if (r.trust.isTrusted(ban.ip)) continue;
      const c = r.config;
      const res = await deps.store.feedRecidive(ban, { jail: c.name, maxretry: c.maxretry, findtime: c.findtime, bantime: c.bantime, escalation: r.escalation });
      if (res.ban) {
        deps.log.info({ jail: c.name, ip: ban.ip, bans: res.failures }, `recidive: ban ${ban.ip} on all ports`);
        out.push(res.ban);
      }
    }
    return out;
  };
}

/** Feeds bans to the recidive jails and publishes the recidive bans that follows, in one batch. */
export function createRecidivePublisher(deps: Pick<DecideDeps, 'jails' | 'store' | 'log' | 'host' | 'publish'>) {
  const feed = createRecidiveFeeder(deps);
  const any = [...deps.jails.values()].some((j) => j.recidive);
  return async (bans: readonly BanRecord[]): Promise<void> => {
    if (!any || bans.length === 0) return;
    const out: BanRecord[] = [];
    for (let i = 0; i < bans.length; i += CONCURRENCY) {
      for (const r of await Promise.all(bans.slice(i, i + CONCURRENCY).map(feed))) out.push(...r);
    }
    await deps.publish(out.map((b) => banDecision(b, deps.host)));
  };
}

/**
 * Failure events in, ban decisions out: every event of a round is recorded at once (their Redis
 * calls pipelined), the bans they decide are published together, then fed to the recidive jails.
 * Returns the indexes of events that failed (e.g. Redis is down): the bus redelivers them later,
 * and the event id keeps a redelivery from being counted twice.
 */
export function createDecider(deps: DecideDeps): (evs: readonly { value: FailureEventV1; ctx: Context }[]) => Promise<Set<number>> {
  const unknownJails = new Set<string>();
  const recidive = createRecidivePublisher(deps);
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

  const decideOne = async (ev: FailureEventV1): Promise<BanRecord | null> => {
    const jail = deps.jails.get(ev.jail);
    if (!jail || jail.recidive) {
      if (!unknownJails.has(ev.jail)) deps.log.warn({ jail: ev.jail, host: ev.host }, 'failure for a jail this banner does not run; ignored');
      unknownJails.add(ev.jail);
      return null;
    }
    let ip: string;
    try {
      ip = normalizeIp(ev.ip);
    } catch (e) {
      deps.log.warn({ ip: ev.ip, err: describeError(e) }, 'failure with an invalid address; ignored');
      return null;
    }
    if (await trusted(jail, ev, ip)) {
      deps.log.debug({ jail: ev.jail, ip, seenOn: ev.host }, 'failure of a trusted address; not counted');
      return null;
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
    return res.ban;
  };

  return async (evs) => {
    const failed = new Set<number>();
    const bans: { ban: BanRecord; ctx: Context }[] = [];
    for (let start = 0; start < evs.length; start += CONCURRENCY) {
      await Promise.all(
        evs.slice(start, start + CONCURRENCY).map(async ({ value, ctx }, k) => {
          try {
            const ban = await context.with(ctx, () => decideOne(value));
            if (ban) bans.push({ ban, ctx });
          } catch (e) {
            deps.log.error({ jail: value.jail, ip: value.ip, err: describeError(e) }, 'recording a failure failed; it will be retried');
            failed.add(start + k);
          }
        }),
      );
    }
    if (bans.length === 0) return failed;
    if (bans.length <= LOG_EACH_UP_TO) {
      for (const { ban: b } of bans) deps.log.info({ jail: b.jail, ip: b.ip, failures: b.failures, until: b.until, banCount: b.banCount }, `ban ${b.ip} in ${b.jail}`);
    } else {
      deps.log.info({ count: bans.length, jails: [...new Set(bans.map((b) => b.ban.jail))], sample: bans.slice(0, 10).map((b) => b.ban.ip) }, `ban ${bans.length} addresses`);
    }
    // The first ban's trace carries the batch; every single decision keeps its own event's trace.
    await context.with(bans[0]!.ctx, () =>
      deps.publish(
        bans.map((b) => banDecision(b.ban, deps.host)),
        bans.map((b) => b.ctx),
      ),
    );
    await recidive(bans.map((b) => b.ban));
    return failed;
  };
}
