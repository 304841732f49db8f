import type { RateLimit } from '../config/notifier-config.js';

/** At most `count` sends in any window of `periodMs` (sliding), per target. */
export class RateLimiter {
  private readonly sent: number[] = [];

  constructor(private readonly limit: RateLimit | undefined) {}

  /** The earliest time another send is allowed (<= now when allowed now). */
  allowedAt(now: number): number {
    const limit = this.limit;
    if (!limit) return now;
    this.forget(now);
    if (this.sent.length < limit.count) return now;
    return (this.sent[this.sent.length - limit.count] ?? now) + limit.periodMs;
  }

  record(now: number): void {
    if (!this.limit) return;
    this.sent.push(now);
    this.forget(now);
  }

  private forget(now: number): void {
    const limit = this.limit;
    if (!limit) return;
    while (this.sent.length > 0 && (this.sent[0] ?? 0) + limit.periodMs <= now) this.sent.shift();
  }
}
