import { context, describeError, type BanDecisionV1, type BatchedFailure, type Context, type FailureBatchV1, type FailureEventV1, type Logger } from '@portcullis/shared';
import { banDecision } from './decision.js';
import type { JailRuntime } from './jail-runtime.js';
import type { BanRecord, BanStore, BatchFailure } from './store/index.js';
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

/**
 * The failures of one bus message (one for a FailureEvent, many for a FailureBatch) with what they
 * share, and the message's trace.
 */
export interface FailureItem {
  jail: string;
  /** Host that saw them. */
  host: string;
  producer: 'log' | 'external';
  failures: readonly Pick<BatchedFailure, 'id' | 'ip' | 'at' | 'line'>[];
  ctx: Context;
}

/** Above this many bans in one round, one summary line is logged instead of one line per ban. */
const LOG_EACH_UP_TO = 20;

export function itemOfEvent(ev: FailureEventV1, ctx: Context): FailureItem {
  return { jail: ev.jail, host: ev.host, producer: ev.producer, failures: [ev], ctx };
}

export function itemOfBatch(b: FailureBatchV1, ctx: Context): FailureItem {
  return { jail: b.jail, host: b.host, producer: b.producer, failures: b.failures, ctx };
}

/**
 * Feeds bans to the recidive jails (a ban just decided in one jail counts as a "failure" for every
 * recidive jail: banned again and again anywhere -> the long all-ports ban) and publishes the
 * recidive bans that follow, in one batch. All bans go to the store at once per recidive jail.
 */
export function createRecidivePublisher(deps: Pick<DecideDeps, 'jails' | 'store' | 'log' | 'host' | 'publish'>) {
  const targets = [...deps.jails.values()].filter((j) => j.recidive);
  return async (bans: readonly BanRecord[]): Promise<void> => {
    if (targets.length === 0 || bans.length === 0) return;
    const out: BanRecord[] = [];
    let error: Error | undefined;
    for (const r of targets) {
      const c = r.config;
      const fed = bans.filter((b) => b.jail !== c.name && !r.trust.isTrusted(b.ip));
      if (fed.length === 0) continue;
      const res = await deps.store.feedRecidiveMany(fed, { jail: c.name, maxretry: c.maxretry, findtime: c.findtime, bantime: c.bantime, escalation: r.escalation });
      error ??= res.error;
      for (const x of res.results) {
        if (!x?.ban) continue;
        deps.log.info({ jail: c.name, ip: x.ban.ip, bans: x.failures }, `recidive: ban ${x.ban.ip} on all ports`);
        out.push(x.ban);
      }
    }
    // what was decided is published before the failure is reported (a retry counts the rest)
    await deps.publish(out.map((b) => banDecision(b, deps.host)));
    if (error) throw error;
  };
}

/**
 * Failures in, ban decisions out: every failure of a round (the messages waiting when the decider
 * looks) is checked against the trust lists once per address, recorded with a few pipelined script
 * calls per jail (see BanStore.recordFailures), the bans they decide are published together, then
 * fed to the recidive jails. Returns the indexes of items with a failure that was not recorded
 * (Redis is down): the bus redelivers them later, and event ids keep a redelivery from counting
 * any failure twice.
 */
export function createDecider(deps: DecideDeps): (items: readonly FailureItem[]) => Promise<Set<number>> {
  const unknownJails = new Set<string>();
  const recidive = createRecidivePublisher(deps);
  /**
   * The trust of the host that saw the failure decides whether it counts (see HostTrustRegistry);
   * the fleet-wide list added at run time is checked by the store itself whoever decides.
   */
  const trusted = async (jail: JailRuntime, seenOn: string, ip: string): Promise<boolean> => {
    if (seenOn !== deps.host) {
      const remote = await deps.hostTrust.trustedBy(seenOn, jail.config.name, ip);
      if (remote !== undefined) return remote;
    }
    return (await jail.trust.check(ip)).trusted;
  };

  return async (items) => {
    const failed = new Set<number>();
    const canonical = new Map<string, string | null>();
    // trust verdicts per host and jail, then address: each checked once per round
    const verdicts = new Map<string, Map<string, number>>();
    const checks: Promise<boolean | Error>[] = [];
    const candidates: { item: number; k: number; ip: string; verdict: number }[] = [];
    for (let item = 0; item < items.length; item++) {
      const it = items[item]!;
      const jail = deps.jails.get(it.jail);
      if (!jail || jail.recidive) {
        if (!unknownJails.has(it.jail)) deps.log.warn({ jail: it.jail, host: it.host }, 'failure for a jail this banner does not run; ignored');
        unknownJails.add(it.jail);
        continue;
      }
      const scope = `${it.host}\0${it.jail}`;
      let known = verdicts.get(scope);
      if (!known) verdicts.set(scope, (known = new Map()));
      for (let k = 0; k < it.failures.length; k++) {
        const raw = it.failures[k]!.ip;
        let ip = canonical.get(raw);
        if (ip === undefined) {
          try {
            ip = normalizeIp(raw);
          } catch (e) {
            deps.log.warn({ ip: raw, err: describeError(e) }, 'failure with an invalid address; ignored');
            ip = null;
          }
          canonical.set(raw, ip);
        }
        if (ip === null) continue;
        let verdict = known.get(ip);
        if (verdict === undefined) {
          verdict = checks.push(trusted(jail, it.host, ip).catch((e: unknown) => (e instanceof Error ? e : new Error(describeError(e))))) - 1;
          known.set(ip, verdict);
        }
        candidates.push({ item, k, ip, verdict });
      }
    }

    const perJail = new Map<string, { failures: BatchFailure[]; items: number[] }>();
    let trustError: Error | undefined;
    const verdictOf = await Promise.all(checks);
    for (const c of candidates) {
      const v = verdictOf[c.verdict]!;
      const it = items[c.item]!;
      if (v instanceof Error) {
        trustError ??= v;
        failed.add(c.item);
        continue;
      }
      if (v) {
        deps.log.debug({ jail: it.jail, ip: c.ip, seenOn: it.host }, 'failure of a trusted address; not counted');
        continue;
      }
      const f = it.failures[c.k]!;
      let j = perJail.get(it.jail);
      if (!j) perJail.set(it.jail, (j = { failures: [], items: [] }));
      j.failures.push({
        eventId: f.id,
        ip: c.ip,
        at: f.at,
        ...(f.line !== undefined ? { matches: [f.line] } : {}),
        origin: it.producer === 'external' ? 'external' : 'log',
        host: it.host,
      });
      j.items.push(c.item);
    }
    if (trustError) deps.log.error({ err: describeError(trustError) }, 'checking the trust of a failure failed; it will be retried');

    const bans: { ban: BanRecord; ctx: Context }[] = [];
    await Promise.all(
      [...perJail].map(async ([name, j]) => {
        const jail = deps.jails.get(name)!;
        const c = jail.config;
        let res;
        try {
          res = await deps.store.recordFailures({ jail: c.name, maxretry: c.maxretry, findtime: c.findtime, bantime: c.bantime, escalation: jail.escalation, failures: j.failures });
        } catch (e) {
          // refused before anything was written (an invalid failure; the bus contract prevents it)
          deps.log.error({ jail: c.name, count: j.failures.length, err: describeError(e) }, 'recording failures failed; they will be retried');
          for (const i of j.items) failed.add(i);
          return;
        }
        if (res.error) deps.log.error({ jail: c.name, err: describeError(res.error) }, 'recording failures failed; they will be retried');
        res.results.forEach((r, k) => {
          const item = j.items[k]!;
          if (r === null) failed.add(item);
          else if (r.ban) bans.push({ ban: r.ban, ctx: items[item]!.ctx });
        });
      }),
    );
    if (bans.length === 0) return failed;
    if (bans.length <= LOG_EACH_UP_TO) {
      for (const { ban: b } of bans) deps.log.info({ jail: b.jail, ip: b.ip, failures: b.failures, until: b.until, banCount: b.banCount }, `ban ${b.ip} in ${b.jail}`);
    } else {
      deps.log.info({ count: bans.length, jails: [...new Set(bans.map((b) => b.ban.jail))], sample: bans.slice(0, 10).map((b) => b.ban.ip) }, `ban ${bans.length} addresses`);
    }
    // Every single decision is published under the trace of the message whose failure decided it;
    // the enforcement batches carry the first one's.
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
