import { writeFileSync } from 'node:fs';
import { loadFilter, FilterCompileCache } from './src/filter/index.js';
import { sshdLog } from './bench/gen/sshd-log.js';
const N = Number(process.argv[2] ?? 200000);
const gen = sshdLog(42, Date.UTC(2026, 2, 1));
const lines: string[] = []; let exp = 0;
for (let i = 0; i < N; i++) { const l = gen.next().value; lines.push(l.text); if (l.failure) exp++; }
writeFileSync('/tmp/sshd-sample.log', lines.join('\n') + '\n');
const cache = new FilterCompileCache();
let t0 = performance.now();
const f = loadFilter({ configDir: '/etc/fail2ban', name: 'sshd', cache, now: Date.UTC(2026, 2, 2) });
console.log('load', (performance.now() - t0).toFixed(0), 'ms');
const now = Date.UTC(2026, 2, 2);
for (let rep = 0; rep < 3; rep++) {
  const c0 = process.cpuUsage(); t0 = performance.now(); let fails = 0;
  for (const l of lines) if (f.match(l, { now, source: 's' }).kind === 'failure') fails++;
  const u = process.cpuUsage(c0); const ms = performance.now() - t0;
  console.log(`fails ${fails} expected ${exp} (${(100*exp/N).toFixed(1)}%) wall ${(N / ms * 1000).toFixed(0)} l/s cpu ${(N / ((u.user + u.system) / 1000) * 1000).toFixed(0)} l/s re2 ${f.runner.re2Runs}`);
}
