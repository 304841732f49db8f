import { describeError, type Bus, type Logger } from '@portcullis/shared';
import type { Enforcer } from './enforce.js';
import type { BanStore } from './store/index.js';

/**
 * Brings this host's firewall in line with the ban store: at start, every `intervalMs` (re-asserts
 * kernel timeouts and repairs anything lost; cheap when nothing changed, the backend leaves
 * matching elements alone), and after the NATS connection comes back (a partitioned host may have
 * missed decisions that its durable consumer no longer replays, e.g. after a stream purge).
 */
export function startReconciler(deps: { enforcer: Enforcer; store: BanStore; log: Logger; bus: Bus; intervalMs: number }) {
  let stopped = false;
  let running: Promise<void> | undefined;
  let again = false;

  const run = async (why: string): Promise<void> => {
    const t0 = performance.now();
    const r = await deps.enforcer.reconcile(() => deps.store.activeBanEnds());
    deps.log.info({ why, restored: r.restored, readMs: r.readMs, writeMs: r.writeMs, durationMs: Math.round(performance.now() - t0) }, 'firewall reconciled with the ban store');
  };

  /** Runs now, or once more after the current run when one is under way. Never throws. */
  const trigger = (why: string): void => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = run(why)
      .catch((e: unknown) => deps.log.warn({ why, err: describeError(e) }, 'reconciling the firewall failed; will retry'))
      .finally(() => {
        running = undefined;
        if (again) {
          again = false;
          trigger(why);
        }
      });
  };

  const timer = setInterval(() => trigger('periodic'), deps.intervalMs);
  timer.unref();
  void (async () => {
    for await (const s of deps.bus.nc.status()) {
      if (stopped) break;
      if (s.type === 'reconnect') trigger('reconnect');
    }
  })().catch(() => undefined);

  return {
    /** The start-up reconcile: throws when it fails (the banner must not enforce from a stale firewall). */
    run,
    trigger,
    stop(): void {
      stopped = true;
      clearInterval(timer);
    },
  };
}
