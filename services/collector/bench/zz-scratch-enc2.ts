import { syslogLine } from './syslog-lines.js';
const N = 5000;
const now = Date.now();
const lines = Array.from({ length: N }, (_, i) => ({ text: syslogLine(i), readAt: now }));
const msg = { v: 1 as const, id: 'x:1:2', host: 'h', source: 'file', origin: '/var/log/auth.log', jails: ['sshd'], lines };
function bench(name: string, f: () => unknown) {
  for (let i = 0; i < 50; i++) f();
  let best = Infinity; let x: unknown;
  for (let k = 0; k < 7; k++) {
  const t = process.cpuUsage();
  const R = 60;
  for (let i = 0; i < R; i++) x = f();
  const u = process.cpuUsage(t);
  best = Math.min(best, ((u.user + u.system) * 1000) / (R * N));
  }
  console.log(name.padEnd(28), best.toFixed(1), 'ns/line', (x as Buffer).length);
}
const SAFE = /^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/;
bench('stringify+Buffer.from utf8', () => Buffer.from(JSON.stringify(msg)));
bench('stringify+latin1 if ascii', () => { const s = JSON.stringify(msg); return Buffer.byteLength(s) === s.length ? Buffer.from(s, 'latin1') : Buffer.from(s); });
bench('stringify+latin1', () => Buffer.from(JSON.stringify(msg), 'latin1'));
const head = Buffer.from(JSON.stringify({ ...msg, lines: undefined }).slice(0, -1) + ',"lines":[');
bench('direct write', () => {
  let cap = head.length + 2;
  for (const l of lines) cap += l.text.length * 3 + 40;
  const buf = Buffer.allocUnsafe(cap);
  let o = head.copy(buf, 0);
  let first = true;
  for (const l of lines) {
    if (!first) buf[o++] = 44;
    first = false;
    o += buf.latin1Write('{"text":', o);
    if (SAFE.test(l.text)) { buf[o++] = 34; o += buf.latin1Write(l.text, o); buf[o++] = 34; }
    else o += buf.utf8Write(JSON.stringify(l.text), o);
    o += buf.latin1Write(`,"readAt":${l.readAt}}`, o);
  }
  buf[o++] = 93; buf[o++] = 125;
  return buf.subarray(0, o);
});
bench('parts stringify', () => {
  const parts: string[] = [];
  for (const l of lines) parts.push(SAFE.test(l.text) ? `{"text":"${l.text}","readAt":${l.readAt}}` : `{"text":${JSON.stringify(l.text)},"readAt":${l.readAt}}`);
  const s = `${head.toString()}${parts.join(',')}]}`;
  return Buffer.from(s, 'latin1');
});
bench('stringify only', () => Buffer.alloc(JSON.stringify(msg).length & 1));
bench('regex only', () => { let n = 0; for (const l of lines) if (SAFE.test(l.text)) n++; return Buffer.alloc(n); });
console.log(Buffer.from(JSON.stringify(msg)).equals((() => {
  let cap = head.length + 2; for (const l of lines) cap += l.text.length * 3 + 40;
  const buf = Buffer.allocUnsafe(cap); let o = head.copy(buf, 0); let first = true;
  for (const l of lines) { if (!first) buf[o++] = 44; first = false; o += buf.latin1Write('{"text":', o);
    if (SAFE.test(l.text)) { buf[o++] = 34; o += buf.latin1Write(l.text, o); buf[o++] = 34; } else o += buf.utf8Write(JSON.stringify(l.text), o);
    o += buf.latin1Write(`,"readAt":${l.readAt}}`, o); }
  buf[o++] = 93; buf[o++] = 125; return buf.subarray(0, o); })()));
