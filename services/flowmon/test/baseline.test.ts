import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger, ManualClock } from '@portcullis/shared';
import { Baselines, floodThreshold, MAD_TO_SIGMA, median } from '../src/baseline/baseline.js';
import { loadBaselines, saveBaselines } from '../src/baseline/baseline-store.js';

const log = createLogger({ service: 'test', level: 'silent' });
const HOUR = 3_600_000;
const utcHour = (ms: number): number => new Date(ms).getUTCHours();
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Feeds `n` one-second samples produced by `value(i)`. */
function feed(b: Baselines, clock: ManualClock, metric: string, n: number, value: (i: number) => number): void {
  for (let i = 0; i < n; i++) {
    b.observe(metric, value(i), clock.now());
    clock.advance(1000);
  }
}

describe('baselines', () => {
  it('uses floors only until enough windows are learned, then median and MAD of the windows', () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 10));
    const b = new Baselines({ windowSize: 10, warmAll: 3, warmHour: 100, hourOf: utcHour });
    feed(b, clock, 'udp_pps', 20, (i) => 100 + (i % 5));
    expect(b.get('udp_pps', clock.now()).source).toBe('none');
    expect(floodThreshold(b.get('udp_pps', clock.now()), 2000, 5, 8)).toBe(2000);
    feed(b, clock, 'udp_pps', 10, (i) => 100 + (i % 5));
    const v = b.get('udp_pps', clock.now());
    expect(v.source).toBe('all');
    // each window holds 100..104 twice: median 102, MAD 1
    expect(v.median).toBeCloseTo(102, 6);
    expect(v.mad).toBeCloseTo(1, 6);
    expect(floodThreshold(v, 10, 5, 8)).toBeCloseTo(510, 6);
    expect(floodThreshold(v, 10, 1.5, 100)).toBeCloseTo(102 + 100 * MAD_TO_SIGMA, 6);
  });

  it('ignores a short spike inside a window (median) and forgets slowly (EWMA)', () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 10));
    const b = new Baselines({ windowSize: 10, warmAll: 1, alpha: 0.1, hourOf: utcHour });
    feed(b, clock, 'm', 10, (i) => (i === 3 ? 50_000 : 100));
    expect(b.get('m', clock.now()).median).toBe(100);
    feed(b, clock, 'm', 10, () => 200);
    expect(b.get('m', clock.now()).median).toBeCloseTo(110, 6);
  });

  it('keeps one bucket per hour of day and prefers it once warm', () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 3));
    const b = new Baselines({ windowSize: 10, warmAll: 1, warmHour: 2, alpha: 1, hourOf: utcHour });
    feed(b, clock, 'm', 20, () => 10); // 03:00, quiet
    clock.set(Date.UTC(2026, 0, 1, 14));
    feed(b, clock, 'm', 20, () => 1000); // 14:00, busy
    clock.set(Date.UTC(2026, 0, 2, 3));
    expect(b.get('m', clock.now())).toMatchObject({ source: 'hour', median: 10 });
    clock.set(Date.UTC(2026, 0, 2, 14));
    expect(b.get('m', clock.now())).toMatchObject({ source: 'hour', median: 1000 });
    // An hour never seen falls back to the all-day bucket.
    clock.set(Date.UTC(2026, 0, 2, 20));
    expect(b.get('m', clock.now())).toMatchObject({ source: 'all', median: 1000 });
  });

  it('throws the partial window away when asked (an attack started inside it)', () => {
    const clock = new ManualClock();
    const b = new Baselines({ windowSize: 10, warmAll: 1, hourOf: utcHour });
    feed(b, clock, 'm', 9, () => 5000);
    b.discardPartial();
    feed(b, clock, 'm', 10, () => 7);
    expect(b.get('m', clock.now()).median).toBe(7);
  });

  it('survives a restart: saved atomically and loaded for the same host only', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pct-flowmon-base-'));
    dirs.push(dir);
    const file = join(dir, 'state', 'flowmon-baselines.json');
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 9));
    const b = new Baselines({ windowSize: 5, warmAll: 1, hourOf: utcHour });
    feed(b, clock, 'icmp_pps', 10, () => 42);
    await saveBaselines(file, b.snapshot('web1', clock.now()));
    expect(readdirSync(join(dir, 'state'))).toEqual(['flowmon-baselines.json']);
    const loaded = await loadBaselines(file, 'web1', log);
    const again = new Baselines({ windowSize: 5, warmAll: 1, hourOf: utcHour }, loaded);
    expect(again.get('icmp_pps', clock.now())).toMatchObject({ source: 'all', median: 42 });
    expect(JSON.parse(readFileSync(file, 'utf8')).host).toBe('web1');
    expect(await loadBaselines(file, 'web2', log)).toBeUndefined();
    writeFileSync(file, '{"v":1,"host":"web1","metrics":');
    expect(await loadBaselines(file, 'web1', log)).toBeUndefined();
    expect(await loadBaselines(join(dir, 'missing.json'), 'web1', log)).toBeUndefined();
  });

  it('median of even and odd counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(median([])).toBe(0);
  });

  it('hours and all-day buckets are learned from the local hour by default', () => {
    const b = new Baselines({ windowSize: 1, warmHour: 1 });
    const at = new Date(2026, 5, 1, 7, 30).getTime();
    b.observe('m', 9, at);
    expect(b.snapshot('h', at).metrics.m?.hours[7]).toMatchObject({ median: 9, windows: 1 });
    expect(b.get('m', at + HOUR / 4).source).toBe('hour');
  });
});
