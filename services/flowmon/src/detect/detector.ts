import type { Rates, Signal } from './signals.js';

export interface ThresholdInfo {
  threshold: number;
  /** Baseline median the threshold came from (0 while learning). */
  baseline: number;
}

export interface DetectorOptions {
  /** Consecutive ticks over the threshold before an alert starts. */
  confirmTicks: number;
  /** The alert calms when the rate stays below threshold * releaseRatio ... */
  releaseRatio: number;
  /** ... for this long. */
  releaseMs: number;
  /** After calming, the alert (and its mitigation) stays this long; a return resumes it. */
  cooldownMs: number;
  thresholdOf: (signal: Signal, now: number) => ThresholdInfo;
}

export interface Incident {
  id: string;
  signal: Signal;
  /** Start of the first tick over the threshold. */
  onsetAt: number;
  detectedAt: number;
  /** Frozen at detection: the attack must not raise its own bar. */
  threshold: number;
  baseline: number;
  rate: number;
  peak: number;
  state: 'active' | 'cooldown';
  /** When the rate first went below the release level (active) or when cooldown began. */
  since: number | undefined;
}

export type DetectorEvent =
  | { kind: 'candidate'; signal: Signal; at: number }
  | { kind: 'start'; incident: Incident }
  | { kind: 'resume'; incident: Incident }
  | { kind: 'calm'; incident: Incident }
  | { kind: 'end'; incident: Incident; at: number };

interface Candidate {
  ticks: number;
  onsetAt: number;
}

/**
 * One state machine per signal: idle -> candidate (over the threshold) -> active (confirmed) ->
 * cooldown (calm for releaseMs) -> idle (after cooldownMs, the end). The start threshold and the
 * lower release level give hysteresis; the cooldown keeps one incident when a flood pauses.
 * Pure: time comes in with each tick.
 */
export class Detector {
  private readonly candidates = new Map<string, Candidate>();
  private readonly incidents = new Map<string, Incident>();
  private seq = 0;

  constructor(
    private readonly signals: readonly Signal[],
    private readonly opts: DetectorOptions,
    private readonly idPrefix: string,
  ) {}

  /** Open incidents (active or cooling down). */
  open(): Incident[] {
    return [...this.incidents.values()];
  }

  /** Whether anything is over its threshold or open: baselines must not learn now. */
  busy(): boolean {
    return this.incidents.size > 0 || this.candidates.size > 0;
  }

  tick(rates: Rates, now: number, tickMs: number): DetectorEvent[] {
    const events: DetectorEvent[] = [];
    for (const s of this.signals) {
      const rate = rates[s.metric];
      if (rate === undefined) continue;
      const open = this.incidents.get(s.key);
      if (open) this.advance(open, rate, now, tickMs, events);
      else this.watch(s, rate, rates, now, tickMs, events);
    }
    return events;
  }

  private watch(s: Signal, rate: number, rates: Rates, now: number, tickMs: number, events: DetectorEvent[]): void {
    const { threshold, baseline } = this.opts.thresholdOf(s, now);
    const over = rate > threshold && (s.gate?.(rates) ?? true);
    if (!over) {
      this.candidates.delete(s.key);
      return;
    }
    let c = this.candidates.get(s.key);
    if (!c) {
      c = { ticks: 0, onsetAt: now - tickMs };
      this.candidates.set(s.key, c);
      events.push({ kind: 'candidate', signal: s, at: now });
    }
    c.ticks++;
    if (c.ticks < this.opts.confirmTicks) return;
    this.candidates.delete(s.key);
    const incident: Incident = {
      id: `${this.idPrefix}-${s.key.replace(/[^A-Za-z0-9-]/g, '-')}-${now}-${++this.seq}`,
      signal: s,
      onsetAt: c.onsetAt,
      detectedAt: now,
      threshold,
      baseline,
      rate,
      peak: rate,
      state: 'active',
      since: undefined,
    };
    this.incidents.set(s.key, incident);
    events.push({ kind: 'start', incident });
  }

  private advance(i: Incident, rate: number, now: number, tickMs: number, events: DetectorEvent[]): void {
    i.rate = rate;
    i.peak = Math.max(i.peak, rate);
    if (i.state === 'active') {
      if (rate >= i.threshold * this.opts.releaseRatio) {
        i.since = undefined;
        return;
      }
      // Calm since the start of the first tick below the release level.
      i.since ??= now - tickMs;
      if (now - i.since >= this.opts.releaseMs) {
        i.state = 'cooldown';
        i.since = now;
        events.push({ kind: 'calm', incident: i });
      }
      return;
    }
    // Cooling down: the flood is back (over the start threshold) or the cooldown ran out.
    if (rate > i.threshold) {
      i.state = 'active';
      i.since = undefined;
      events.push({ kind: 'resume', incident: i });
      return;
    }
    if (now - (i.since ?? now) >= this.opts.cooldownMs) {
      this.incidents.delete(i.signal.key);
      events.push({ kind: 'end', incident: i, at: now });
    }
  }
}
