import type { BanDecisionV1, Clock, Logger } from '@portcullis/shared';
import type { BanEntry, FirewallBackend } from './firewall/backend.js';
import type { JailRuntime } from './jail-runtime.js';
import type { BanRecord } from './store/index.js';

/** Seconds left of a ban for a kernel timeout; null = permanent, 0 = already over. */
export function remainingSeconds(until: number | null | undefined, now: number): number | null {
  if (until === null || until === undefined) return null;
  return Math.max(0, Math.ceil((until - now) / 1000));
}

/**
 * Applies decisions to this host's firewall. Every host runs one; a decision for a jail this host
 * does not run, or for an address this host trusts, is not enforced here.
 */
export function createEnforcer(deps: { jails: ReadonlyMap<string, JailRuntime>; firewall: FirewallBackend; clock: Clock; log: Logger }) {
  const applicable = (jail: string, ip: string): boolean => {
    const j = deps.jails.get(jail);
    if (!j) return false;
    if (j.trust.isTrusted(ip)) {
      deps.log.warn({ jail, ip }, 'decision for an address this host trusts; not enforced here');
      return false;
    }
    return true;
  };

  return {
    async apply(d: BanDecisionV1): Promise<void> {
      if (!deps.jails.has(d.jail)) return;
      if (d.kind === 'unban') {
        await deps.firewall.unban([{ jail: d.jail, ip: d.ip }]);
        return;
      }
      if (!applicable(d.jail, d.ip)) return;
      const timeoutSec = remainingSeconds(d.until, deps.clock.now());
      // A ban decision replayed after it ended must not ban again.
      if (timeoutSec === 0) return;
      await deps.firewall.ban([
        {
          jail: d.jail,
          ip: d.ip,
          timeoutSec,
          // For command actions' tags (<failures>, <bantime>, <matches>...).
          context: {
            at: d.at,
            ...(d.failures !== undefined ? { failures: d.failures } : {}),
            ...(d.bantime !== undefined ? { bantime: d.bantime } : {}),
            ...(d.banCount !== undefined ? { banCount: d.banCount } : {}),
            ...(d.matches !== undefined ? { matches: d.matches } : {}),
          },
        },
      ]);
    },

    /** Makes the kernel hold exactly the store's active bans (start, restart, reconnect). */
    async reconcile(active: BanRecord[]): Promise<number> {
      const now = deps.clock.now();
      const desired: BanEntry[] = [];
      for (const b of active) {
        if (!deps.jails.has(b.jail)) continue;
        const timeoutSec = remainingSeconds(b.until, now);
        if (timeoutSec === 0) continue;
        if (deps.jails.get(b.jail)!.trust.isTrusted(b.ip)) continue;
        desired.push({ jail: b.jail, ip: b.ip, timeoutSec });
      }
      await deps.firewall.reconcile(desired);
      return desired.length;
    },
  };
}

export type Enforcer = ReturnType<typeof createEnforcer>;
