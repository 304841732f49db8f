import { closeSync, openSync, writeSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lineText } from '../sources/log-writer.js';
import { ServiceEnv } from './service-env.js';
import { checkExactlyOnce } from './stream-lines.js';

const rank = (text: string): number => Number(text.slice(1, 8));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * nats-server goes away for 10 s (stopped, then started again on the same port with the same data)
 * while a writer keeps appending 5,000 lines/s. The collector process must stay up, hold its place
 * while publishes fail, and once the server is back deliver every line, exactly once: a publish
 * whose ack was lost in the outage is re-sent under the same id and dropped by JetStream. The
 * verdict comes from a consumer created afterwards (see ServiceEnv.readAllAgain).
 */
describe('collector process: NATS outage', () => {
  let env: ServiceEnv;

  beforeEach(async () => {
    env = await ServiceEnv.create();
  });
  afterEach(async () => {
    await env.dispose();
  });

  for (const how of ['stop', 'kill'] as const) {
    it(`delivers every line exactly once after a 10 s outage (nats-server ${how === 'stop' ? 'stopped' : 'killed -9'}), and never exits`, async () => {
      const path = env.path('auth.log');
      await writeFile(path, '');
      env.configure([{ name: 'sshd', logpath: path }]);
      const collector = await env.startCollector();
      const lines = await env.readLines();

      let written = 0;
      let stop = false;
      const writer = (async () => {
        const fd = openSync(path, 'a');
        const start = Date.now();
        while (!stop) {
          const due = Math.floor((Date.now() - start) * 5); // 5 lines per ms
          let s = '';
          for (; written < due; written++) s += `${lineText(written)}\n`;
          if (s) writeSync(fd, s);
          await sleep(10);
        }
        closeSync(fd);
      })();

      await lines.waitForLines(5_000, 20_000);
      await (how === 'stop' ? env.nats.stop() : env.nats.kill());
      const downAt = written;
      await sleep(10_000);
      expect(collector.alive).toBe(true);
      await env.nats.restart();
      await sleep(3_000);
      stop = true;
      await writer;
      const total = written;
      // Lines were written throughout the outage.
      expect(total - downAt).toBeGreaterThan(40_000);

      await lines.waitForLines(total, 60_000, () => `collector log:\n${collector.logText().slice(-3000)}`);
      await sleep(1000);
      const verdict = await env.readAllAgain();
      await verdict.waitForLines(total, 30_000);
      await sleep(500);
      const expected = Array.from({ length: total }, (_, i) => lineText(i));
      expect(checkExactlyOnce(verdict, expected, rank)).toEqual({ duplicates: [], missing: [], missingCount: 0, unexpected: 0, firstDisorder: null });
      expect(verdict.total).toBe(total);
      expect(verdict.duplicateIds).toEqual([]);
      expect(collector.alive).toBe(true);
      // The outage was seen (publishes failed and were retried), not slept through.
      const log = env.logEntries();
      expect(log.some((e) => e.msg === 'publishing lines failed; the source will retry them')).toBe(true);
      expect(log.some((e) => e.msg === 'chunk delivered after retries')).toBe(true);
    }, 120_000);
  }
});
