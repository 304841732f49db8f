import { Redis } from 'ioredis';
import { describeError, PortcullisError } from './errors.js';
import type { Logger } from './logger.js';

export type { Redis };

/**
 * Connects to Redis and keeps retrying forever after the first connection: enforcement already in
 * the kernel does not depend on Redis, and commands queued during an outage run when it is back.
 */
export async function connectRedis(url: string, log: Logger, opts: { connectTimeoutMs?: number } = {}): Promise<Redis> {
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    retryStrategy: (times) => Math.min(100 * times, 2_000),
  });
  let warned = false;
  redis.on('error', (e) => {
    if (!warned) log.warn({ err: describeError(e) }, 'Redis connection error; retrying');
    warned = true;
  });
  redis.on('ready', () => {
    if (warned) log.info('Redis connection restored');
    warned = false;
  });
  const timeoutMs = opts.connectTimeoutMs ?? 15_000;
  let lastErr: unknown;
  redis.on('error', (e) => (lastErr = e));
  try {
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(lastErr ?? new Error('timed out')), timeoutMs);
      redis.once('ready', () => {
        clearTimeout(t);
        resolve();
      });
      redis.connect().catch(() => undefined);
    });
  } catch (e) {
    redis.disconnect();
    throw new PortcullisError('PC_REDIS_UNAVAILABLE', `cannot connect to Redis at ${url}: ${describeError(e)}`, { cause: e });
  }
  return redis;
}
