import { describeError, type BanDecisionV1, type Clock, type Logger } from '@portcullis/shared';
import type { BanEntry, FirewallBackend } from './firewall/backend.js';
import type { JailRuntime } from './jail-runtime.js';
import type { BanEnd } from './store/index.js';

/** Seconds left of a ban for a kernel timeout; null = permanent, 0 = already over. */
export function remainingSeconds(until: number | null | undefined, now: number): number | null {
  if (until === null || until === undefined) return null;
  return Math.max(0, Math.ceil((until - now) / 1000));
}

/** Addresses of one trusted-decision warning shown at most (a mass ban must not flood the log). */
const TRUST_WARN_SAMPLE = 10;

/**
 * Applies decisions to this host's firewall. Every host runs one; a decision for a jail this host
 * does not run, or for an address this host trusts, is not enforced here. Applying and reconciling
 * take turns (one lane), so a reconcile's store snapshot is never undone by a decision applied
 * between its read and its write, nor the other way round.
 */
export function createEnforcer(deps: { jails: ReadonlyMap<string, JailRuntime>; firewall: FirewallBackend; clock: Clock; log: Logger }) {
  let lane: Promise<unknown> = Promise.resolve();
  const inLane = <T>(task: () => Promise<T>): Promise<T> => {
    const run = lane.then(task, task);
    lane = run.catch(() => undefined);
    return run;
  };

  /** The net effect of decisions in order (the last one per jail and address wins), as two firewall calls. */
  const applyNow = async (ds: readonly BanDecisionV1[]): Promise<{ banned: number; unbanned: number }> => {
    const last = new Map<string, BanDecisionV1>();
    for (const d of ds) {
      if (!deps.jails.has(d.jail)) continue;
      const key = `${d.jail} ${d.ip}`;
      last.delete(key);
      last.set(key, d);
    }
    const now = deps.clock.now();
    const bans: BanEntry[] = [];
    const unbans: { jail: string; ip: string }[] = [];
    const trusted: string[] = [];
    for (const d of last.values()) {
      if (d.kind === 'unban') {
        unbans.push({ jail: d.jail, ip: d.ip });
        continue;
      }
      if (deps.jails.get(d.jail)!.trust.isTrusted(d.ip)) {
        trusted.push(`${d.jail}:${d.ip}`);
        continue;
      }
      const timeoutSec = remainingSeconds(d.until, now);
      // A ban decision replayed after it ended must not ban again.
      if (timeoutSec === 0) continue;
      bans.push({ jail: d.jail, ip: d.ip, timeoutSec });
    }
    if (trusted.length > 0) {
      deps.log.warn({ count: trusted.length, sample: trusted.slice(0, TRUST_WARN_SAMPLE) }, 'decision for an address this host trusts; not enforced here');
    }
    if (unbans.length > 0) await deps.firewall.unban(unbans);
    if (bans.length > 0) await deps.firewall.ban(bans);
    return { banned: bans.length, unbanned: unbans.length };
  };

  /** Groups, in order, as applyGroups promises them: the indexes that failed (one group alone: throws). */
  const applyGroupsNow = async (groups: readonly (readonly BanDecisionV1[])[]): Promise<Set<number>> => {
    const failed = new Set<number>();
    try {
      await applyNow(groups.flat());
      return failed;
    } catch (e) {
      if (groups.length === 1) throw e;
      deps.log.warn({ groups: groups.length, err: describeError(e) }, 'applying decisions together failed; applying each batch on its own');
    }
    for (let i = 0; i < groups.length; i++) {
      try {
        await applyNow(groups[i]!);
      } catch (e) {
        deps.log.error({ err: describeError(e) }, 'applying a batch of decisions failed; it will be retried');
        failed.add(i);
      }
    }
    return failed;
  };

  /** applyGroups calls not yet applied; the first one queues applyWaiting in the lane, which takes them all. */
  let waiting: { groups: readonly (readonly BanDecisionV1[])[]; resolve: (failed: Set<number>) => void; reject: (e: unknown) => void }[] = [];
  const applyWaiting = async (): Promise<void> => {
    const calls = waiting;
    waiting = [];
    try {
      const failed = await applyGroupsNow(calls.flatMap((c) => c.groups));
      let first = 0;
      for (const c of calls) {
        const own = new Set<number>();
        for (let i = 0; i < c.groups.length; i++) if (failed.has(first + i)) own.add(i);
        first += c.groups.length;
        c.resolve(own);
      }
    } catch (e) {
      for (const c of calls) c.reject(e);
    }
  };

  const reconcileNow = async (active: readonly BanEnd[]): Promise<number> => {
    const now = deps.clock.now();
    const desired: BanEntry[] = [];
    for (const b of active) {
      const j = deps.jails.get(b.jail);
      if (!j) continue;
      const timeoutSec = remainingSeconds(b.until, now);
      if (timeoutSec === 0) continue;
      if (j.trust.isTrusted(b.ip)) continue;
      desired.push({ jail: b.jail, ip: b.ip, timeoutSec });
    }
    await deps.firewall.reconcile(desired);
    return desired.length;
  };

  return {
    /** One decision (kept for callers that have one). */
    apply(d: BanDecisionV1): Promise<void> {
      return inLane(async () => {
        await applyNow([d]);
      });
    },

    /**
     * Many decisions, in the order made, with one firewall transaction for the bans and one for
     * the unbans. If that fails (one bad entry fails a whole nft transaction), each group is
     * applied on its own: the returned indexes are the groups that still failed. Calls made while
     * the firewall is busy are applied together when it is free (a mass ban's chunks arrive faster
     * than one transaction each would take), each caller told about its own groups.
     */
    applyGroups(groups: readonly (readonly BanDecisionV1[])[]): Promise<Set<number>> {
      return new Promise((resolve, reject) => {
        waiting.push({ groups, resolve, reject });
        if (waiting.length === 1) void inLane(applyWaiting);
      });
    },

    /** Resolves when nothing is being applied or waiting to be (or after maxMs). */
    async idle(maxMs: number): Promise<void> {
      const deadline = performance.now() + maxMs;
      for (;;) {
        const current = lane;
        const left = deadline - performance.now();
        if (left <= 0) return;
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([current, new Promise((r) => (timer = setTimeout(r, left)))]);
        clearTimeout(timer);
        if (lane === current && waiting.length === 0) return;
      }
    },

    /**
     * Makes the kernel hold exactly the store's active bans (start, restart, reconnect, and
     * periodically: re-asserts timeouts). `read` runs inside the lane, so no decision lands between
     * the snapshot and the write.
     */
    reconcile(read: () => Promise<readonly BanEnd[]>): Promise<{ restored: number; readMs: number; writeMs: number }> {
      return inLane(async () => {
        const t0 = performance.now();
        const active = await read();
        const t1 = performance.now();
        const restored = await reconcileNow(active);
        return { restored, readMs: Math.round(t1 - t0), writeMs: Math.round(performance.now() - t1) };
      });
    },
  };
}

export type Enforcer = ReturnType<typeof createEnforcer>;
