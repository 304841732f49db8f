/**
 * Exponential backoff with ±20% jitter: min, 2·min, 4·min, ... capped at max. A receiver's own
 * Retry-After, when longer, wins.
 */
export function backoffDelay(attempt: number, minMs: number, maxMs: number, retryAfterMs?: number, random: () => number = Math.random): number {
  const base = Math.min(maxMs, minMs * 2 ** Math.max(0, Math.min(attempt - 1, 30)));
  const jittered = base * (0.8 + 0.4 * random());
  return Math.round(Math.max(jittered, retryAfterMs ?? 0));
}
