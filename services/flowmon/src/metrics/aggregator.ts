export interface Aggregate {
  /** Average over the ticks, weighted by each tick's length. */
  avg: Record<string, number>;
  /** Highest tick value. */
  peak: Record<string, number>;
  ticks: number;
  /** Time the ticks cover. */
  spanMs: number;
}

/** Folds fast ticks into one published sample: the bus sees one message per interval, not per tick. */
export class TickAggregator {
  private sums = new Map<string, number>();
  private peaks = new Map<string, number>();
  private weights = new Map<string, number>();
  private ticks = 0;
  private spanMs = 0;

  add(rates: Readonly<Record<string, number>>, dtMs: number): void {
    this.ticks++;
    this.spanMs += dtMs;
    for (const [k, v] of Object.entries(rates)) {
      this.sums.set(k, (this.sums.get(k) ?? 0) + v * dtMs);
      this.weights.set(k, (this.weights.get(k) ?? 0) + dtMs);
      this.peaks.set(k, Math.max(this.peaks.get(k) ?? 0, v));
    }
  }

  get size(): number {
    return this.ticks;
  }

  get coveredMs(): number {
    return this.spanMs;
  }

  /** The aggregate so far, and a fresh start. */
  take(): Aggregate {
    const avg: Record<string, number> = {};
    const peak: Record<string, number> = {};
    for (const [k, s] of this.sums) avg[k] = s / Math.max(1e-9, this.weights.get(k) ?? 1);
    for (const [k, p] of this.peaks) peak[k] = p;
    const out = { avg, peak, ticks: this.ticks, spanMs: this.spanMs };
    this.sums = new Map();
    this.peaks = new Map();
    this.weights = new Map();
    this.ticks = 0;
    this.spanMs = 0;
    return out;
  }
}
