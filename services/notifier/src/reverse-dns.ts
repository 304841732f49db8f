import { Resolver } from 'node:dns/promises';
import type { Clock } from '@portcullis/shared';

/** A name for an address, or null when none resolves within the time limit. Never throws. */
export type ReverseDns = (ip: string) => Promise<string | null>;

export interface ReverseDnsOptions {
  timeoutMs: number;
  clock: Clock;
  /** Resolver servers ("ip" or "ip:port"); the system's when absent. */
  servers?: string[];
  cacheSize?: number;
  cacheTtlMs?: number;
}

/**
 * PTR lookups through c-ares (not getaddrinfo, which would tie up libuv's thread pool), bounded
 * by `timeoutMs` however many servers the system lists, and cached, so a ban storm from the same
 * addresses never waits on DNS twice. A mail is never held back longer than the timeout.
 */
export function createReverseDns(opts: ReverseDnsOptions): ReverseDns {
  const cache = new Map<string, { name: string | null; at: number }>();
  const size = opts.cacheSize ?? 1024;
  const ttl = opts.cacheTtlMs ?? 3_600_000;
  return async (ip) => {
    const now = opts.clock.now();
    const hit = cache.get(ip);
    if (hit && now - hit.at < ttl) return hit.name;
    const resolver = new Resolver({ timeout: opts.timeoutMs, tries: 1 });
    if (opts.servers) resolver.setServers(opts.servers);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<null>((resolve) => {
      timer = setTimeout(() => {
        resolver.cancel();
        resolve(null);
      }, opts.timeoutMs);
    });
    const lookup = resolver.reverse(ip).then(
      (names) => names[0] ?? null,
      () => null,
    );
    const name = await Promise.race([lookup, timedOut]);
    clearTimeout(timer);
    if (cache.size >= size) cache.delete(cache.keys().next().value as string);
    cache.set(ip, { name, at: now });
    return name;
  };
}
