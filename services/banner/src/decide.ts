import { describeError, type FailureEventV1, type Logger } from '@portcullis/shared';
import { banDecision } from './decision.js';
import type { JailRuntime } from './jail-runtime.js';
import type { BanStore } from './store/index.js';
import { normalizeIp } from './trust/index.js';
import type { BanDecisionV1 } from '@portcullis/shared';

export interface DecideDeps {
  jails: ReadonlyMap<string, JailRuntime>;
  store: BanStore;
  host: string;
  log: Logger;
  publish: (d: BanDecisionV1) => Promise<void>;
}

/**
 * One failure event in, at most one ban decision out. Throwing makes the bus redeliver the event
 * later (e.g. Redis is down): the event id keeps a redelivery from being counted twice.
 */
export function createDecider(deps: DecideDeps): (ev: FailureEventV1) => Promise<void> {
  const unknownJails = new Set<string>();
  return async (ev) => {
    const jail = deps.jails.get(ev.jail);
    if (!jail) {
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
    if (jail.trust.isTrusted(ip)) {
      deps.log.debug({ jail: ev.jail, ip }, 'failure of a trusted address; not counted');
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
      ...(ev.line !== undefined ? { matches: [ev.line] } : {}),
      origin: ev.producer === 'external' ? 'external' : 'log',
      host: ev.host,
    });
    if (res.ban) {
      deps.log.info({ jail: ev.jail, ip, failures: res.failures, until: res.ban.until }, `ban ${ip} in ${ev.jail}`);
      await deps.publish(banDecision(res.ban, deps.host));
    }
  };
}
