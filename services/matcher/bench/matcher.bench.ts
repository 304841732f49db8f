/** Matcher throughput vs fail2ban-regex on generated sshd, mail and web logs (1M lines each), and memory over a 10M-line stream */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { BUILTIN_FILTER_DIR, FilterCompileCache, loadFilter, type CompiledFilter } from '../src/filter/index.js';
import { FAIL2BAN_REGEX, runFail2banRegex } from './fail2ban-regex.js';
import type { GenLine } from './gen/interleave.js';
import { mailLog } from './gen/mail-log.js';
import { sshdLog } from './gen/sshd-log.js';
import { webLog } from './gen/web-log.js';

const { values: args } = parseArgs({
  options: {
    lines: { type: 'string', default: '1000000' },
    'f2b-lines': { type: 'string', default: '200000' },
    'mem-lines': { type: 'string', default: '10000000' },
    seed: { type: 'string', default: '20260301' },
  },
});
const LINES = Number(args.lines);
const F2B_LINES = Math.min(Number(args['f2b-lines']), LINES);
const MEM_LINES = Number(args['mem-lines']);
const SEED = Number(args.seed);
const BATCH = 1000;
const START = Date.UTC(2026, 2, 1);
// "now" for the matcher: a day after the last generated line, so year inference is stable.
const NOW = START + 30 * 86_400_000;
const STOCK = '/etc/fail2ban';

const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
const mb = (n: number): number => Math.round(n / 1024 / 1024);
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

interface LogSpec {
  name: 'sshd' | 'mail' | 'web';
  gen: (seed: number, start: number) => Generator<GenLine, never>;
  /** Portcullis filters (all run on every line, as jails sharing a log do). */
  filters: Array<{ label: string; load: () => CompiledFilter; f2b: string; f2bLabel: string }>;
}

const dir = mkdtempSync(path.join(tmpdir(), 'pct-bench-matcher-'));
const cache = new FilterCompileCache();
const loadTimes: Record<string, number> = {};
const timedLoad = (label: string, f: () => CompiledFilter): CompiledFilter => {
  const t0 = performance.now();
  const filter = f();
  loadTimes[label] = Math.round(performance.now() - t0);
  return filter;
};

// The web filter: our built-in "wordpress" when it is there (fail2ban-regex reads the same file),
// else the same failregex on the command line and in a throw-away filter.d.
const builtinWordpress = path.join(BUILTIN_FILTER_DIR, 'wordpress.conf');
const WEB_REGEX = String.raw`^<ADDR> \S+ \S+ \[\] "POST /wp-login\.php(?:\?[^"\s]*)? HTTP/\d(?:\.\d)?" 200(?:\s|$)`;
let webFilterNote: string;
let webF2b: string;
let webLoad: () => CompiledFilter;
if (existsSync(builtinWordpress)) {
  webFilterNote = `Portcullis built-in filter wordpress (${builtinWordpress}), read by both`;
  webF2b = builtinWordpress;
  webLoad = () => loadFilter({ name: 'wordpress', cache, now: NOW });
} else {
  webFilterNote = `failregex ${WEB_REGEX} (no wordpress filter in stock fail2ban; given on fail2ban-regex's command line)`;
  webF2b = WEB_REGEX;
  const cfg = path.join(dir, 'conf');
  const fd = path.join(cfg, 'filter.d');
  mkdirSync(fd, { recursive: true });
  writeFileSync(path.join(fd, 'bench-web.conf'), `[Definition]\nfailregex = ${WEB_REGEX.replace(/%/g, '%%')}\n`);
  webLoad = () => loadFilter({ configDir: cfg, name: 'bench-web', cache, now: NOW });
}

const specs: LogSpec[] = [
  { name: 'sshd', gen: sshdLog, filters: [{ label: 'sshd', load: () => loadFilter({ configDir: STOCK, name: 'sshd', cache, now: NOW }), f2b: path.join(STOCK, 'filter.d/sshd.conf'), f2bLabel: 'stock sshd.conf' }] },
  {
    name: 'mail',
    gen: mailLog,
    filters: [
      { label: 'postfix', load: () => loadFilter({ configDir: STOCK, name: 'postfix', cache, now: NOW }), f2b: path.join(STOCK, 'filter.d/postfix.conf'), f2bLabel: 'stock postfix.conf' },
      { label: 'dovecot', load: () => loadFilter({ configDir: STOCK, name: 'dovecot', cache, now: NOW }), f2b: path.join(STOCK, 'filter.d/dovecot.conf'), f2bLabel: 'stock dovecot.conf' },
    ],
  },
  { name: 'web', gen: webLog, filters: [{ label: 'web', load: webLoad, f2b: webF2b, f2bLabel: existsSync(builtinWordpress) ? 'wordpress.conf' : 'command-line failregex' }] },
];

function generate(spec: LogSpec, file: string, n: number): { failures: number } {
  const g = spec.gen(SEED, START);
  const chunk: string[] = [];
  const out: string[] = [];
  let failures = 0;
  for (let i = 0; i < n; i++) {
    const l = g.next().value;
    if (l.failure) failures++;
    chunk.push(l.text);
    if (chunk.length === 10_000) {
      out.push(`${chunk.join('\n')}\n`);
      chunk.length = 0;
    }
  }
  if (chunk.length) out.push(`${chunk.join('\n')}\n`);
  writeFileSync(file, out.join(''));
  return { failures };
}

/** The service's path: LogBatch-sized slices through CompiledFilter.matchBatch, every filter on every batch. */
function runOurs(filters: CompiledFilter[], lines: readonly string[], source: string): { wallSec: number; cpuSec: number; failures: number[] } {
  const failures = filters.map(() => 0);
  gc();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let b = 0; b < lines.length; b += BATCH) {
    const end = Math.min(lines.length, b + BATCH);
    const ctx = { now: NOW, source };
    for (let f = 0; f < filters.length; f++) {
      const filter = filters[f] as CompiledFilter;
      let n = 0;
      for (const r of filter.matchBatch(lines.slice(b, end), ctx)) if (r.kind === 'failure') n++;
      failures[f] = (failures[f] as number) + n;
    }
  }
  const wallSec = (performance.now() - t0) / 1000;
  const cu = process.cpuUsage(c0);
  return { wallSec, cpuSec: (cu.user + cu.system) / 1e6, failures };
}

const result: Record<string, unknown> = { bench: 'matcher', lines: LINES, f2b_lines: F2B_LINES, seed: SEED };
console.log(`matcher bench: ${fmt(LINES)} lines per log, fail2ban-regex (${FAIL2BAN_REGEX}, --no-check-all) on the first ${fmt(F2B_LINES)} lines of each`);
console.log(`web filter: ${webFilterNote}`);

for (const spec of specs) {
  const file = path.join(dir, `${spec.name}.log`);
  const t0 = performance.now();
  const { failures: generated } = generate(spec, file, LINES);
  const lines = readFileSync(file, 'utf8').split('\n');
  lines.pop();
  const sampleFile = path.join(dir, `${spec.name}-sample.log`);
  writeFileSync(sampleFile, `${lines.slice(0, F2B_LINES).join('\n')}\n`);
  console.log(`\n== ${spec.name}: ${fmt(lines.length)} lines, ${fmt(generated)} failures by construction (${((100 * generated) / lines.length).toFixed(1)}%), generated in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const filters = spec.filters.map((f) => timedLoad(f.label, f.load));
  // Warm-up on another source, then the measured pass on a fresh one.
  runOurs(filters, lines.slice(0, 100_000), `${spec.name}-warmup`);
  const ours = runOurs(filters, lines, `${spec.name}-main`);
  const oursRate = lines.length / ours.wallSec;
  const oursCpuRate = lines.length / ours.cpuSec;
  const sample = runOurs(filters, lines.slice(0, F2B_LINES), `${spec.name}-sample`);

  let f2bSec = 0;
  const f2bMatched: number[] = [];
  spec.filters.forEach((f, i) => {
    const r = runFail2banRegex(sampleFile, f.f2b);
    f2bSec += r.processedSec;
    f2bMatched.push(r.matched);
    const agree = r.matched === sample.failures[i] ? 'agree' : 'DIFFER';
    console.log(
      `  ${f.label.padEnd(8)} Portcullis ${fmt(ours.failures[i] as number)} failures in ${fmt(lines.length)} lines; on the ${fmt(F2B_LINES)}-line sample Portcullis ${fmt(sample.failures[i] as number)}, fail2ban ${fmt(r.matched)} matched (${fmt(r.ignored)} ignored) with ${f.f2bLabel}: ${agree}; fail2ban ${r.processedSec.toFixed(1)} s (${fmt(r.lines / r.processedSec)} lines/s)`,
    );
    result[`${f.label}_failures`] = ours.failures[i];
    result[`${f.label}_sample_failures`] = sample.failures[i];
    result[`fail2ban_${f.label}_sample_matched`] = r.matched;
    result[`${f.label}_agree`] = r.matched === sample.failures[i];
  });
  const f2bRate = F2B_LINES / f2bSec;
  const ratio = oursRate / f2bRate;
  console.log(
    `  Portcullis ${fmt(oursRate)} lines/s (wall, one thread; ${fmt(oursCpuRate)} lines/s by process CPU time) with ${spec.filters.length} filter(s) per line; fail2ban ${fmt(f2bRate)} lines/s; ratio ${ratio.toFixed(0)}x`,
  );
  result[`${spec.name}_lines_per_s`] = Math.round(oursRate);
  result[`${spec.name}_cpu_lines_per_s`] = Math.round(oursCpuRate);
  result[`fail2ban_${spec.name}_lines_per_s`] = Math.round(f2bRate);
  result[`${spec.name}_ratio`] = Math.round(ratio * 10) / 10;
}

console.log(`\nfilter load times (ms, date templates shared through one FilterCompileCache): ${JSON.stringify(loadTimes)}`);
result['load_ms'] = loadTimes;

// Memory: a long stream through the sshd filter, never held in memory.
{
  const filter = timedLoad('sshd-mem', () => loadFilter({ configDir: STOCK, name: 'sshd', cache, now: NOW }));
  const g = sshdLog(SEED + 1, START);
  const rss: number[] = [];
  const heap: number[] = [];
  const sample = (): void => {
    gc();
    const m = process.memoryUsage();
    rss.push(mb(m.rss));
    heap.push(mb(m.heapUsed));
  };
  sample();
  const t0 = performance.now();
  let failures = 0;
  const batch: string[] = [];
  for (let i = 0; i < MEM_LINES; i++) {
    batch.push(g.next().value.text);
    if (batch.length === BATCH) {
      const ctx = { now: NOW, source: `mem-${i % 7}` };
      for (const r of filter.matchBatch(batch, ctx)) if (r.kind === 'failure') failures++;
      batch.length = 0;
    }
    if (i === Math.floor(MEM_LINES / 2)) sample();
  }
  sample();
  const sec = (performance.now() - t0) / 1000;
  console.log(
    `\nmemory over ${fmt(MEM_LINES)} sshd lines (generated and matched as a stream, ${fmt(failures)} failures, ${sec.toFixed(0)} s incl. generation): RSS start/middle/end ${rss.join(' / ')} MB, heap used ${heap.join(' / ')} MB`,
  );
  result['mem_lines'] = MEM_LINES;
  result['rss_mb_start'] = rss[0];
  result['rss_mb_middle'] = rss[1];
  result['rss_mb_end'] = rss[2];
  result['heap_mb_start'] = heap[0];
  result['heap_mb_end'] = heap[2];
}

rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify(result));
