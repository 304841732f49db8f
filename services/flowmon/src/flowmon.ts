import { CONTRACTS, publishCore, subjectFor, SUBJECTS, type Service, type ServiceContext } from '@portcullis/shared';
import { ratesBetween, readKernelCounters } from './snmp.js';

export interface FlowmonOptions {
  /** How often kernel counters are read and a sample is published. */
  intervalMs?: number;
}

/**
 * Flowmon samples the kernel's protocol counters and publishes per-second rates. Baselines,
 * detection and mitigation build on these samples.
 */
export async function startFlowmon(ctx: ServiceContext, opts: FlowmonOptions = {}): Promise<Service> {
  const { bus, log, clock, config } = ctx;
  const intervalMs = opts.intervalMs ?? 1_000;
  let prev = await readKernelCounters();
  let prevAt = clock.now();
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    void (async () => {
      try {
        const cur = await readKernelCounters();
        const now = clock.now();
        const rates = ratesBetween(prev, cur, Math.max(1, now - prevAt));
        prev = cur;
        const span = now - prevAt;
        prevAt = now;
        publishCore(bus, CONTRACTS.flowSample, subjectFor(SUBJECTS.flowSamples, config.settings.host), {
          v: 1,
          host: config.settings.host,
          at: now,
          intervalMs: Math.max(1, span),
          rates,
        });
        log.debug({ rates }, 'flow sample');
      } catch (e) {
        log.warn({ err: String(e) }, 'flow sample failed');
      } finally {
        running = false;
      }
    })();
  }, intervalMs);
  log.info({ intervalMs }, 'flowmon started');
  return {
    name: 'flowmon',
    stop: async () => clearInterval(timer),
  };
}
