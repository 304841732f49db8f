// Legitimate-looking traffic for the flood tests, run inside a namespace with plain node:
//   serve HOST PORT BYTES          send BYTES to every connection (a download server); prints "listening"
//   fetch HOST PORT                download everything; prints {"bytes":N,"ms":T}
//   rate HOST PORT PER_S SECONDS [FROM]   open PER_S connections a second (each sends a request line and
//                                  closes when the server does); prints {"opened":N,"failed":F,"firstAt":MS}
//                                  (firstAt: Date.now() of the first connection attempt)
import { createServer, connect } from 'node:net';

const [mode, host, portText, a, b, c] = process.argv.slice(2);
const port = Number(portText);

if (mode === 'serve') {
  const total = Number(a);
  const chunk = Buffer.alloc(1 << 16);
  createServer((sock) => {
    let left = total;
    sock.on('error', () => undefined);
    const pump = () => {
      while (left > 0) {
        const n = Math.min(left, chunk.length);
        left -= n;
        if (!sock.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void sock.once('drain', pump);
      }
      sock.end();
    };
    pump();
  }).listen(port, host, () => console.log('listening'));
} else if (mode === 'fetch') {
  const t0 = performance.now();
  let bytes = 0;
  const sock = connect({ host, port });
  sock.on('data', (d) => (bytes += d.length));
  sock.on('end', () => console.log(JSON.stringify({ bytes, ms: Math.round(performance.now() - t0) })));
  sock.on('error', (e) => {
    console.log(JSON.stringify({ bytes, error: e.message }));
    process.exitCode = 1;
  });
} else if (mode === 'rate') {
  const perSecond = Number(a);
  const seconds = Number(b);
  const from = c;
  let opened = 0;
  let failed = 0;
  let firstAt;
  let pending = 0;
  const stepMs = 10;
  const perStep = perSecond / (1000 / stepMs);
  let debt = 0;
  const started = performance.now();
  const timer = setInterval(() => {
    if (performance.now() - started >= seconds * 1000) {
      clearInterval(timer);
      const done = setInterval(() => {
        if (pending === 0) {
          clearInterval(done);
          console.log(JSON.stringify({ opened, failed, firstAt }));
        }
      }, 20);
      return;
    }
    debt += perStep;
    for (; debt >= 1; debt--) {
      firstAt ??= Date.now();
      pending++;
      const sock = connect({ host, port, ...(from ? { localAddress: from } : {}) });
      sock.setTimeout(2000, () => sock.destroy(new Error('timeout')));
      sock.on('connect', () => {
        opened++;
        sock.end('GET / HTTP/1.0\r\n\r\n');
      });
      sock.on('data', () => undefined);
      sock.on('error', () => (failed++, undefined));
      sock.on('close', () => pending--);
    }
  }, stepMs);
} else {
  console.error(`unknown mode ${mode}`);
  process.exit(2);
}
