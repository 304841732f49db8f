import { loadFilter, extractGroups } from './src/filter/index.js';
import { run, Scratch } from './src/filter/regex/backtrack.js';
const sshd = loadFilter({ configDir: '/etc/fail2ban', name: 'sshd', options: { mode: 'aggressive' } });
const t = sshd.failregex.find((r) => r.original.startsWith('^Failed (?:'))!;
for (const hostile of [`Failed password for ${'a from 192.0.2.1 port 1 '.repeat(150)}x from 198.51.100.7 port 22 ssh2`, `Failed password for ${'a from 192.0.2.1 port 1 '.repeat(2)}x from 198.51.100.7 port 22 ssh2`]) {
const caps = new Int32Array(t.program!.slots); const sc = new Scratch();
console.log(run(t.program!, hostile, 0, hostile.length, true, caps, sc, 1e8), sc.steps);
const m = t.re2.exec(hostile + '\n'); console.log(m ? extractGroups(t, m) : null);
}
const line = 'Failed password for jürgen from 192.0.2.4 port 1 ssh2';
console.log(t.re2.exec(line + '\n') ? 'm' : 'no', sshd.runner.exec(t, line, 0, line.length, true, false));
