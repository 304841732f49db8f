import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startTestNats } from '../../../tests/harness/index.js';
import { measureLag } from './lag.js';
import { measureThroughput } from './throughput.js';

const { values } = parseArgs({
  options: {
    lines: { type: 'string', default: '4000000' },
    rate: { type: 'string', default: '10000' },
    'lag-seconds': { type: 'string', default: '20' },
    /** Directory for a V8 CPU profile of the collector process during the throughput run. */
    'cpu-prof': { type: 'string' },
    /** Extra node flags for the collector process, e.g. --collector-node-arg=--max-semi-space-size=64 */
    'collector-node-arg': { type: 'string', multiple: true, default: [] },
  },
});
const TARGET_LINES_PER_S = 1_000_000;
const total = Number(values.lines);
const rate = Number(values.rate);
const lagSeconds = Number(values['lag-seconds']);
const log = (s: string): void => console.log(`  ${s}`);

const dir = mkdtempSync(join(tmpdir(), 'pct-collector-bench-'));
const nats = await startTestNats();
const cleanup = async (): Promise<void> => {
  await nats.dispose();
  rmSync(dir, { recursive: true, force: true });
};
// Interrupted (Ctrl-C, timeout): do not leave a nats-server and a gigabyte of files behind.
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void cleanup().finally(() => process.exit(130)));
try {
  console.log(`collector bench: nats-server ${nats.url}, files in ${dir}`);
  // Lag first: after the throughput run the kernel spends a while writing back its gigabyte, and
  // since the collector fsyncs a small positions file before each chunk, that writeback shows up
  // as 100-400 ms outliers in the lag (measured), which belong to the disk, not to steady state.
  const l = await measureLag(dir, nats.url, rate, 2, lagSeconds, log);
  console.log(`lag written -> stored by JetStream at ${rate} lines/s over ${l.lines.toLocaleString('en')} lines: p50 ${l.p50.toFixed(2)} ms, p90 ${l.p90.toFixed(2)} ms, p99 ${l.p99.toFixed(2)} ms, max ${l.max.toFixed(2)} ms`);
  const profDir = values['cpu-prof'];
  const nodeArgs = [...(values['collector-node-arg'] ?? []), ...(profDir ? ['--cpu-prof', '--cpu-prof-dir', profDir] : [])];
  const t = await measureThroughput(dir, nats, total, log, nodeArgs);
  console.log(
    `file -> NATS: ${t.lines.toLocaleString('en')} lines, ${(t.bytes / 1e6).toFixed(0)} MB in ${t.seconds.toFixed(2)} s: ` +
      `${Math.round(t.linesPerS).toLocaleString('en')} lines/s, ${t.mbPerS.toFixed(1)} MB/s ` +
      `(every line once on the stream: ${t.verified ? 'yes' : 'NO'}; collector peak RSS ${t.peakRssMb.toFixed(0)} MB)`,
  );
  console.log(
    `  CPU while reading: collector ${t.collectorCpuS.toFixed(2)} s (${((t.collectorCpuS * 1e9) / t.lines).toFixed(0)} ns/line), nats-server ${t.natsCpuS.toFixed(2)} s; ` +
      `load average ${loadavg()[0]?.toFixed(1)} on ${cpus().length} CPUs`,
  );
  if (t.linesPerS < TARGET_LINES_PER_S) console.log(`  below the target of ${TARGET_LINES_PER_S.toLocaleString('en')} lines/s`);
  const round = (x: number, d: number): number => Number(x.toFixed(d));
  console.log(
    JSON.stringify({
      bench: 'collector',
      lines: t.lines,
      bytes: t.bytes,
      seconds: round(t.seconds, 3),
      lines_per_s: Math.round(t.linesPerS),
      mb_per_s: round(t.mbPerS, 1),
      verified: t.verified,
      peak_rss_mb: Math.round(t.peakRssMb),
      collector_cpu_s: round(t.collectorCpuS, 2),
      nats_cpu_s: round(t.natsCpuS, 2),
      lag_rate: rate,
      lag_lines: l.lines,
      lag_p50_ms: round(l.p50, 2),
      lag_p90_ms: round(l.p90, 2),
      lag_p99_ms: round(l.p99, 2),
      lag_max_ms: round(l.max, 2),
    }),
  );
  if (!t.verified) process.exitCode = 1;
} finally {
  await cleanup();
}
