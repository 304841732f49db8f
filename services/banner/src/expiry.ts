import { describeError, type BanDecisionV1, type Clock, type Logger } from '@portcullis/shared';
import { unbanDecision } from './decision.js';
import type { BanStore } from './store/index.js';

/**
 * Claims bans whose time is up and publishes their unban decisions. The store hands each expired
 * ban to exactly one caller, so with several banners each unban is published once. The kernel
 * timeout has already removed the element on every host; the decision keeps the audit trail and
 * the other consumers (notifier, reconcile) right. Each round also writes what bulk bans left
 * pending (store.settleBulkBans).
 */
export function startExpirySweep(deps: { store: BanStore; clock: Clock; log: Logger; host: string; publishAll: (ds: BanDecisionV1[]) => Promise<void>; intervalMs?: number }): { stop(): Promise<void> } {
  let running: Promise<void> | undefined;
  const sweep = async () => {
    // bulk bans whose audit entries and offence history are not written yet: left by a banner
    // that stopped right after deciding them, or a write that failed
    await deps.store.settleBulkBans();
    const now = deps.clock.now();
    const expired = await deps.store.expireDue(now);
    if (expired.length === 0) return;
    await deps.publishAll(expired.map((b) => unbanDecision({ jail: b.jail, ip: b.ip, origin: b.origin }, now, deps.host, 'bantime expired')));
    deps.log.info({ count: expired.length }, 'bans expired');
  };
  const timer = setInterval(() => {
    if (running) return;
    running = sweep()
      .catch((e: unknown) => deps.log.warn({ err: describeError(e) }, 'expiry sweep failed; will retry'))
      .finally(() => (running = undefined));
  }, deps.intervalMs ?? 1_000);
  return {
    stop: async () => {
      clearInterval(timer);
      await running;
      // what this banner's last bulk bans left, written now rather than by the next banner to run
      await deps.store.settleBulkBans().catch((e: unknown) => deps.log.warn({ err: describeError(e) }, 'writing pending bulk-ban audit entries failed; the next banner writes them'));
    },
  };
}
