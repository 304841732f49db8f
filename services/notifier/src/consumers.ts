import { describeError, STREAMS, type Bus, type Logger, type StreamKey } from '@portcullis/shared';
import { CONSUMER_PREFIX, LEGACY_DURABLE } from './targets.js';

/**
 * Deletes the notifier's consumers that no configured target uses any more (a removed recipient,
 * a webhook URL that changed), so they do not keep messages pending forever.
 */
export async function removeStaleConsumers(bus: Bus, wanted: Readonly<Record<'decisions' | 'flowAlerts', ReadonlySet<string>>>, log: Logger): Promise<void> {
  for (const stream of ['decisions', 'flowAlerts'] as const satisfies readonly StreamKey[]) {
    const name = STREAMS[stream].name;
    const stale: string[] = [];
    try {
      for await (const info of bus.jsm.consumers.list(name)) {
        const durable = info.config.durable_name ?? info.name;
        if ((durable.startsWith(CONSUMER_PREFIX) && !wanted[stream].has(durable)) || durable === LEGACY_DURABLE) stale.push(durable);
      }
    } catch (e) {
      log.warn({ stream: name, err: describeError(e) }, 'cannot list consumers to remove stale ones');
      continue;
    }
    for (const durable of stale) {
      await bus.jsm.consumers.delete(name, durable).then(
        () => log.info({ stream: name, durable }, 'removed a consumer no notification target uses'),
        (e: unknown) => log.warn({ stream: name, durable, err: describeError(e) }, 'cannot remove a stale consumer'),
      );
    }
  }
}

/** The stream sequence at and below which every message of a consumer is acked. */
export async function ackFloor(bus: Bus, stream: StreamKey, durable: string): Promise<number> {
  const info = await bus.jsm.consumers.info(STREAMS[stream].name, durable);
  return info.ack_floor.stream_seq;
}
