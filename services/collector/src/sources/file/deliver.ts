import { setTimeout as sleep } from 'node:timers/promises';
import { describeError, type Logger } from '@portcullis/shared';
import type { ChunkSink, SourceChunk } from '../source.js';

export interface RetryPolicy {
  minMs: number;
  maxMs: number;
}

/**
 * Hands one chunk to the sink until it is accepted: a rejection (bus down) waits with exponential
 * backoff and offers the very same chunk again, so an outage delays lines and never drops them.
 * Resolves false only when `signal` aborts first (the source is stopping); the caller then keeps
 * its position, and the chunk is re-read and re-sent on the next start.
 */
export async function deliverWithRetry(
  sink: ChunkSink,
  chunk: SourceChunk,
  retry: RetryPolicy,
  signal: AbortSignal,
  log: Pick<Logger, 'warn' | 'info'>,
): Promise<boolean> {
  for (let attempt = 0; ; attempt++) {
    try {
      await Promise.resolve().then(() => sink(chunk));
      if (attempt > 0) log.info({ origin: chunk.origin, chunkId: chunk.chunkId, attempts: attempt + 1 }, 'chunk delivered after retries');
      return true;
    } catch (e) {
      if (signal.aborted) return false;
      const delay = Math.min(retry.maxMs, retry.minMs * 2 ** Math.min(attempt, 20));
      // The first failure and then one in ten: a long outage must not flood the log.
      if (attempt % 10 === 0) {
        log.warn({ origin: chunk.origin, chunkId: chunk.chunkId, attempt: attempt + 1, retryInMs: delay, err: describeError(e) }, 'sink rejected chunk; will retry');
      }
      try {
        await sleep(delay, undefined, { signal });
      } catch {
        return false;
      }
    }
  }
}
