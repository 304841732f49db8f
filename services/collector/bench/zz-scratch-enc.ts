import { CONTRACTS, encodeMessage } from '@portcullis/shared';
import { syslogLine } from './syslog-lines.js';
const N = 5000;
const now = Date.now();
const lines = Array.from({ length: N }, (_, i) => ({ text: syslogLine(i), readAt: now }));
const msg = { v: 1 as const, id: 'x:1:2', host: 'h', source: 'file', origin: '/var/log/auth.log', jails: ['sshd'], lines };
function bench(name: string, f: () => unknown) {
  for (let i = 0; i < 50; i++) f();
  const t = process.cpuUsage();
  const R = 200;
  for (let i = 0; i < R; i++) f();
  const u = process.cpuUsage(t);
  const ns = ((u.user + u.system) * 1000) / (R * N);
  console.log(name, ns.toFixed(1), 'ns/line');
}
bench('encodeMessage', () => encodeMessage(CONTRACTS.logBatch, msg));
bench('zod parse only', () => CONTRACTS.logBatch.schema.parse(msg));
bench('JSON.stringify', () => JSON.stringify(msg));
bench('stringify+Buffer.from', () => Buffer.from(JSON.stringify(msg)));
const te = new TextEncoder();
bench('stringify+TextEncoder', () => te.encode(JSON.stringify(msg)));
bench('byteLength per line', () => { let b = 0; for (const l of lines) b += Buffer.byteLength(l.text); return b; });
bench('length per line', () => { let b = 0; for (const l of lines) b += l.text.length; return b; });
const big = Buffer.from(lines.map(l => l.text).join('\n') + '\n');
bench('split+toString', () => { const out = []; let s = 0; for (;;) { const nl = big.indexOf(10, s); if (nl === -1) break; out.push({ text: big.toString('utf8', s, nl), readAt: now }); s = nl + 1; } return out; });
bench('split+latin1', () => { const out = []; let s = 0; for (;;) { const nl = big.indexOf(10, s); if (nl === -1) break; out.push({ text: big.latin1Slice(s, nl), readAt: now }); s = nl + 1; } return out; });
