import { writeFileSync } from 'node:fs';
import { mailLog } from './bench/gen/mail-log.js';
import { webLog } from './bench/gen/web-log.js';
for (const [name, g] of [['mail', mailLog(7, Date.UTC(2026, 2, 1))], ['web', webLog(9, Date.UTC(2026, 2, 1))]] as const) {
  const out: string[] = []; let f = 0;
  for (let i = 0; i < 200000; i++) { const l = g.next().value; out.push(l.text); if (l.failure) f++; }
  writeFileSync(`/tmp/${name}-sample.log`, out.join('\n') + '\n');
  console.log(name, f, (100 * f / 200000).toFixed(2) + '%');
}
