import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { benchBus, decodeBatch, linesSubject, LOGS_STREAM, startBenchCollector } from './bench-setup.js';
import { seqOf, syslogLine } from './syslog-lines.js';

export interface LagResult {
  rate: number;
  lines: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/**
 * A writer appends lines at a steady `rate` (a small write every millisecond, as a busy daemon
 * does) and remembers when each was written; a reader on the stream compares that with the time
 * JetStream stored the message holding it. The collector is a separate process tailing the file.
 */
export async function measureLag(dir: string, natsUrl: string, rate: number, warmupS: number, measureS: number, log: (s: string) => void): Promise<LagResult> {
  const host = 'bench-lag';
  const path = join(dir, 'lag.log');
  writeFileSync(path, '');
  const total = Math.round(rate * (warmupS + measureS));
  const firstMeasured = Math.round(rate * warmupS);
  const writtenAt = new Float64Array(total);
  const lags: number[] = [];
  let received = 0;

  const bus = await benchBus(natsUrl);
  const collector = await startBenchCollector(dir, natsUrl, host, path, false);
  try {
    const consumer = await bus.js.consumers.get(LOGS_STREAM, { filter_subjects: linesSubject(host) });
    const messages = await consumer.consume();
    const reading = (async () => {
      for await (const m of messages) {
        const storedAt = Number(m.info.timestampNanos) / 1e6;
        for (const l of decodeBatch(m.data).lines) {
          const s = seqOf(l.text);
          if (s >= firstMeasured && s < total) lags.push(storedAt - (writtenAt[s] as number));
          received++;
        }
        if (received >= total) break;
      }
    })();

    const fd = openSync(path, 'a');
    try {
      const start = performance.now();
      let n = 0;
      while (n < total) {
        const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate));
        if (due > n) {
          let chunk = '';
          for (let i = n; i < due; i++) chunk += `${syslogLine(i)}\n`;
          const at = performance.timeOrigin + performance.now();
          writeSync(fd, chunk);
          writtenAt.fill(at, n, due);
          n = due;
        }
        await new Promise((r) => setTimeout(r, 1));
      }
    } finally {
      closeSync(fd);
    }
    const timeout = setTimeout(() => void messages.close(), 30_000);
    await reading;
    clearTimeout(timeout);
    await messages.close();
    if (received < total) throw new Error(`lag run: only ${received} of ${total} lines arrived`);
    log(`lag run: ${total.toLocaleString('en')} lines written at ${rate}/s, all received`);
  } finally {
    await collector.stop();
    await bus.close();
  }
  lags.sort((a, b) => a - b);
  const q = (p: number): number => lags[Math.min(lags.length - 1, Math.floor(p * lags.length))] as number;
  return { rate, lines: lags.length, p50: q(0.5), p90: q(0.9), p99: q(0.99), max: lags[lags.length - 1] as number };
}
