import { writeFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lineText, runWriter, type RotationMode } from '../sources/log-writer.js';
import { ServiceEnv } from './service-env.js';
import { checkExactlyOnce } from './stream-lines.js';

const rank = (text: string): number => Number(text.slice(1, 8));

/**
 * The collector process tails a log that a writer fills at full speed and rotates four times, the
 * way a daemon plus logrotate do; what counts is what JetStream holds: every line exactly once, and
 * (apart from lines written late to a renamed file) in order.
 */
describe('collector process: rotation under load, read back from JetStream', () => {
  let env: ServiceEnv;

  beforeEach(async () => {
    env = await ServiceEnv.create();
  });
  afterEach(async () => {
    await env.dispose();
  });

  for (const mode of ['rename', 'copytruncate'] as RotationMode[]) {
    it(`${mode}: 200k lines at full speed with 4 rotations arrive exactly once`, async () => {
      const path = env.path('auth.log');
      await writeFile(path, '');
      env.configure([{ name: 'sshd', logpath: path }]);
      const collector = await env.startCollector();
      const lines = await env.readLines();
      const total = 200_000;
      const late = mode === 'rename' ? 50 : 0;
      const started = Date.now();
      const written = await runWriter({
        path,
        total,
        linesPerWrite: 200,
        rotateBefore: [40_000, 80_000, 120_000, 160_000],
        mode,
        keep: 3,
        lateLinesAfterRename: late,
        // Rotate once the bus has the current generation's first line (the collector is on it) but
        // typically long before it caught up: the rest must come from the old file's fd (rename) or
        // from the copy (copytruncate). logrotate never rotates twice within one poll.
        beforeRotate: async (n) => {
          const first = lineText(n === 40_000 ? 0 : n - 40_000 + late);
          const deadline = Date.now() + 30_000;
          while (!lines.has(first)) {
            if (Date.now() > deadline) throw new Error(`line ${first} never reached the bus; ${lines.total} lines did`);
            await new Promise((r) => setTimeout(r, 5));
          }
        },
      });
      await lines.waitForLines(total, 60_000, () => `missing e.g. ${JSON.stringify(checkExactlyOnce(lines, [lineText(0)], rank).missing)}`);
      // A second copy of anything would arrive within this.
      await new Promise((r) => setTimeout(r, 1000));
      const expected = Array.from({ length: total }, (_, i) => lineText(i));
      const report = checkExactlyOnce(lines, expected, rank, new Set(written.late.map(lineText)));
      expect(report).toEqual({ duplicates: [], missing: [], missingCount: 0, unexpected: 0, firstDisorder: null });
      expect(lines.total).toBe(total);
      expect(lines.duplicateIds).toEqual([]);
      expect([...lines.byOrigin.keys()]).toEqual([path]);
      expect(collector.alive).toBe(true);
      const rotations = env.logEntries().filter((e) => (mode === 'rename' ? /^file (rotated|removed)/ : /^file truncated in place; reading the rest from its copy/).test(String(e.msg)));
      expect(rotations).toHaveLength(4);
      expect(env.logEntries().filter((e) => Number(e.level) >= 40 && /lost/.test(String(e.msg)))).toEqual([]);
      expect(Date.now() - started).toBeLessThan(60_000);
    }, 120_000);
  }
});
