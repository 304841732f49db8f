/**
 * Everything with a time window (findtime, bantime, expiry sweeps, baselines) takes a Clock, so tests
 * can move time instead of sleeping.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export class ManualClock implements Clock {
  #t: number;
  constructor(startMs = Date.UTC(2026, 0, 1)) {
    this.#t = startMs;
  }
  now(): number {
    return this.#t;
  }
  set(ms: number): void {
    this.#t = ms;
  }
  advance(ms: number): void {
    this.#t += ms;
  }
}
