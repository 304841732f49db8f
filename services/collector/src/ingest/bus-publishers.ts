import { CONTRACTS, publishDurable, subjectFor, SUBJECTS, type Bus, type FailureEventV1 } from '@portcullis/shared';
import { publishChunk } from '../publish-chunk.js';
import type { SourceChunk } from '../sources/source.js';
import type { IngestServerOptions } from './ingest-server.js';

/** How long the health check waits for the server's PONG. */
const HEALTH_RTT_TIMEOUT_MS = 1000;

/**
 * The ingest server's bus side: failures on `portcullis.v1.failure.<jail>`, lines as LogBatches on
 * `portcullis.v1.log.lines.<host>` (source "http"), each with its id as Nats-Msg-Id.
 */
export function ingestPublishers(bus: Bus): Pick<IngestServerOptions, 'publishFailure' | 'publishLines' | 'busConnected'> {
  return {
    publishFailure: (ev: FailureEventV1) => publishDurable(bus, CONTRACTS.failure, subjectFor(SUBJECTS.failures, ev.jail), ev, ev.id),
    publishLines: (host: string, chunk: SourceChunk) => publishChunk(bus, host, 'http', chunk),
    busConnected: async () => {
      if (bus.nc.isClosed()) return false;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<false>((r) => (timer = setTimeout(() => r(false), HEALTH_RTT_TIMEOUT_MS)));
      try {
        return await Promise.race([bus.nc.rtt().then(() => true as const), timeout]);
      } catch {
        return false;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
