import { loadFilter, FilterCompileCache } from './src/filter/index.js';
import { sshdLog } from './bench/gen/sshd-log.js';
const N = 300000;
const gen = sshdLog(42, Date.UTC(2026, 2, 1));
const lines: string[] = [];
for (let i = 0; i < N; i++) lines.push(gen.next().value.text);
const f = loadFilter({ configDir: '/etc/fail2ban', name: 'sshd', cache: new FilterCompileCache(), now: Date.UTC(2026, 2, 2) });
const now = Date.UTC(2026, 2, 2);
const heavy: string[] = [], light: string[] = [];
const orig = (f as any).matchLines.bind(f); let hit = false;
(f as any).matchLines = (...a: unknown[]) => { hit = true; return orig(...a); };
for (const l of lines) { hit = false; f.match(l, { now, source: 's' }); (hit ? heavy : light).push(l); }
(f as any).matchLines = orig;
console.log('heavy', heavy.length, 'light', light.length);
function t(name: string, ls: string[], src: string) {
  for (let r = 0; r < 3; r++) { const c0 = process.cpuUsage(); for (const l of ls) f.match(l, { now, source: src }); const u = process.cpuUsage(c0); if (r == 2) console.log(name, ((u.user + u.system) * 1000 / ls.length).toFixed(0), 'ns/line'); }
}
t('light', light, 'a'); t('heavy', heavy, 'b'); t('all', lines, 'c');
import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';
const s = new Session(); s.connect(); await s.post('Profiler.enable'); await s.post('Profiler.start');
for (let r = 0; r < 5; r++) for (const l of light) f.match(l, { now, source: "a" });
const { profile } = await s.post('Profiler.stop');
writeFileSync('/tmp/prof/x.cpuprofile', JSON.stringify(profile));
