/**
 * Per-metric baselines learned online. Samples (one per second) are gathered into windows; each
 * full window's median and MAD (median absolute deviation) are folded into an EWMA, once into the
 * bucket of the window's hour of day and once into an all-day bucket. Median and MAD ignore the
 * odd spike, the EWMA forgets slowly, and the hour buckets carry the daily rhythm.
 *
 * The caller decides what is learned: flowmon stops feeding samples while any alert is open and
 * throws away the partial window when one starts, so attacks never become normal.
 */

export interface Bucket {
  median: number;
  mad: number;
  /** Windows folded in so far. */
  windows: number;
}

export interface MetricBaseline {
  /** Index = hour of day (local time). */
  hours: (Bucket | null)[];
  all: Bucket | null;
}

export interface BaselineSnapshot {
  v: 1;
  host: string;
  savedAt: number;
  metrics: Record<string, MetricBaseline>;
}

export interface BaselineOptions {
  /** Samples per window (one sample a second: 60 = one minute). */
  windowSize?: number;
  /** EWMA weight of a new window. */
  alpha?: number;
  /** Windows an hour bucket needs before it is used instead of the all-day one. */
  warmHour?: number;
  /** Windows the all-day bucket needs before it is used at all (before that: floors only). */
  warmAll?: number;
  /** Hour of day for a timestamp; local time by default. */
  hourOf?: (ms: number) => number;
}

export interface BaselineValue {
  median: number;
  mad: number;
  source: 'hour' | 'all' | 'none';
}

const HOURS = 24;

export class Baselines {
  private readonly windowSize: number;
  private readonly alpha: number;
  private readonly warmHour: number;
  private readonly warmAll: number;
  private readonly hourOf: (ms: number) => number;
  private readonly metrics = new Map<string, MetricBaseline>();
  private readonly windows = new Map<string, number[]>();

  constructor(opts: BaselineOptions = {}, snapshot?: BaselineSnapshot) {
    this.windowSize = opts.windowSize ?? 60;
    this.alpha = opts.alpha ?? 0.05;
    this.warmHour = opts.warmHour ?? 10;
    this.warmAll = opts.warmAll ?? 5;
    this.hourOf = opts.hourOf ?? ((ms) => new Date(ms).getHours());
    if (snapshot) for (const [name, m] of Object.entries(snapshot.metrics)) this.metrics.set(name, cloneMetric(m));
  }

  /** Feeds one sample; returns true when it completed a window (the baselines changed). */
  observe(metric: string, value: number, now: number): boolean {
    if (!Number.isFinite(value) || value < 0) return false;
    let w = this.windows.get(metric);
    if (!w) this.windows.set(metric, (w = []));
    w.push(value);
    if (w.length < this.windowSize) return false;
    this.windows.set(metric, []);
    const med = median(w);
    const mad = median(w.map((x) => Math.abs(x - med)));
    let m = this.metrics.get(metric);
    if (!m) this.metrics.set(metric, (m = { hours: new Array<Bucket | null>(HOURS).fill(null), all: null }));
    const hour = this.hourOf(now);
    m.hours[hour] = this.fold(m.hours[hour] ?? null, med, mad);
    m.all = this.fold(m.all, med, mad);
    return true;
  }

  /** Forgets every partial window: called when an attack starts so its onset is not learned. */
  discardPartial(): void {
    this.windows.clear();
  }

  get(metric: string, now: number): BaselineValue {
    const m = this.metrics.get(metric);
    const hour = m?.hours[this.hourOf(now)];
    if (hour && hour.windows >= this.warmHour) return { median: hour.median, mad: hour.mad, source: 'hour' };
    if (m?.all && m.all.windows >= this.warmAll) return { median: m.all.median, mad: m.all.mad, source: 'all' };
    return { median: 0, mad: 0, source: 'none' };
  }

  snapshot(host: string, now: number): BaselineSnapshot {
    const metrics: Record<string, MetricBaseline> = {};
    for (const [name, m] of this.metrics) metrics[name] = cloneMetric(m);
    return { v: 1, host, savedAt: now, metrics };
  }

  private fold(b: Bucket | null, med: number, mad: number): Bucket {
    if (!b) return { median: med, mad, windows: 1 };
    const a = this.alpha;
    return { median: b.median + a * (med - b.median), mad: b.mad + a * (mad - b.mad), windows: b.windows + 1 };
  }
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((x, y) => x - y);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** MAD times this estimates a normal distribution's standard deviation. */
export const MAD_TO_SIGMA = 1.4826;

/**
 * The rate above which a metric is a flood: `factor` times the baseline median, `madK` robust
 * standard deviations above it, and never below the floor (which is all there is while the
 * baseline is still learning).
 */
export function floodThreshold(b: BaselineValue, floor: number, factor: number, madK: number): number {
  if (b.source === 'none') return floor;
  return Math.max(floor, factor * b.median, b.median + madK * MAD_TO_SIGMA * b.mad);
}

function cloneMetric(m: MetricBaseline): MetricBaseline {
  const hours = new Array<Bucket | null>(HOURS).fill(null);
  for (let h = 0; h < HOURS; h++) {
    const b = m.hours?.[h];
    hours[h] = isBucket(b) ? { ...b } : null;
  }
  return { hours, all: isBucket(m.all) ? { ...m.all } : null };
}

function isBucket(b: unknown): b is Bucket {
  const x = b as Bucket | null | undefined;
  return !!x && [x.median, x.mad, x.windows].every((n) => typeof n === 'number' && Number.isFinite(n) && n >= 0);
}
