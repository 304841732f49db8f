import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createSyslogSource, type SyslogSource, type SyslogSourceOptions } from '../../src/sources/syslog/index.js';
import { captureLog, RecordingSink, sleep, waitFor } from './recording-sink.js';
import { sourceLines } from '../../src/sources/source.js';

const running: SyslogSource[] = [];

afterEach(async () => {
  for (const s of running.splice(0)) await s.stop();
});

async function start(rec: RecordingSink, extra: Partial<SyslogSourceOptions> = {}): Promise<{ src: SyslogSource; udp: number; tcp: number; log: ReturnType<typeof captureLog> }> {
  const log = captureLog();
  const src = createSyslogSource({
    listen: [
      { protocol: 'udp', host: '127.0.0.1', port: 0 },
      { protocol: 'tcp', host: '127.0.0.1', port: 0 },
    ],
    routes: [
      { program: 'sshd', jails: ['sshd'] },
      { program: 'postfix/*', jails: ['postfix'] },
    ],
    log: log.log,
    retryMinMs: 20,
    retryMaxMs: 50,
    ...extra,
  });
  running.push(src);
  await src.start(rec.sink);
  const port = (p: 'udp' | 'tcp'): number => src.addresses().find((a) => a.protocol === p)?.port ?? 0;
  return { src, udp: port('udp'), tcp: port('tcp'), log };
}

/** util-linux logger(1): a real syslog client. */
function logger(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('logger', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`logger ${args.join(' ')}: exit ${code}: ${err}`))));
  });
}

function sendUdp(port: number, messages: (string | Buffer)[]): Promise<void> {
  const sock = createSocket('udp4');
  return new Promise((resolve, reject) => {
    let left = messages.length;
    for (const m of messages) {
      sock.send(m, port, '127.0.0.1', (e) => {
        if (e) reject(e);
        if (--left === 0) {
          sock.close();
          resolve();
        }
      });
    }
  });
}

function tcpClient(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
}

const SSHD_MSG = 'Failed password for root from 192.0.2.1 port 22 ssh2';

describe('syslog source (UDP and TCP listeners on loopback)', () => {
  it('receives RFC 3164 and RFC 5424 from logger(1) over UDP and TCP, both framings, as classic lines for the jail', async () => {
    const rec = new RecordingSink();
    const { udp, tcp, src } = await start(rec);
    const common = ['--server', '127.0.0.1', '-t', 'sshd', '--id=4242'];
    await logger(['--udp', '--port', String(udp), '--rfc3164', ...common, `udp3164 ${SSHD_MSG}`]);
    await logger(['--udp', '--port', String(udp), '--rfc5424', ...common, `udp5424 ${SSHD_MSG}`]);
    await logger(['--tcp', '--port', String(tcp), '--rfc3164', ...common, `tcp3164 ${SSHD_MSG}`]);
    await logger(['--tcp', '--octet-count', '--port', String(tcp), '--rfc5424', ...common, `tcp5424 ${SSHD_MSG}`]);
    await rec.waitForLines(4);
    const byTag = new Map(rec.texts().map((t) => [/: (\w+) /.exec(t)?.[1], t]));
    const host = '\\S+';
    expect(byTag.get('udp3164')).toMatch(new RegExp(`^[A-Z][a-z]{2} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d ${host} sshd\\[4242\\]: udp3164 ${SSHD_MSG}$`));
    expect(byTag.get('tcp3164')).toMatch(new RegExp(`^[A-Z][a-z]{2} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d ${host} sshd\\[4242\\]: tcp3164 ${SSHD_MSG}$`));
    // RFC 5424: the RFC 3339 date as sent, structured data ([timeQuality ...]) left out of the line.
    expect(byTag.get('udp5424')).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{6}[+-]\\d\\d:\\d\\d ${host} sshd\\[4242\\]: udp5424 ${SSHD_MSG}$`));
    expect(byTag.get('tcp5424')).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\S+ ${host} sshd\\[4242\\]: tcp5424 ${SSHD_MSG}$`));
    expect(rec.chunks.every((c) => c.jails.join() === 'sshd')).toBe(true);
    expect(new Set(rec.chunks.map((c) => c.origin))).toEqual(new Set([`syslog:udp/127.0.0.1:${udp}`, `syslog:tcp/127.0.0.1:${tcp}`]));
    expect(src.stats()).toMatchObject({ received: 4, accepted: 4, malformed: 0 });
  });

  it('routes by program (globs included), counts the unrouted, and fills host and time when the sender left them out', async () => {
    const rec = new RecordingSink();
    const { udp, src } = await start(rec);
    await sendUdp(udp, [
      '<22>Nov 22 03:04:05 mx1 postfix/smtpd[77]: warning: unknown[203.0.113.5]: SASL LOGIN authentication failed',
      '<13>Nov 22 03:04:05 web1 cron[1]: not watched by any jail',
      '<13>sshd[9]: no timestamp nor host',
      '<13>1 - - sshd - - - nil everything',
    ]);
    await rec.waitForLines(3);
    await waitFor(() => src.stats().unrouted === 1, 5000, () => JSON.stringify(src.stats()));
    const texts = rec.texts();
    expect(texts).toContain('Nov 22 03:04:05 mx1 postfix/smtpd[77]: warning: unknown[203.0.113.5]: SASL LOGIN authentication failed');
    expect(texts.find((t) => t.includes('no timestamp'))).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00 127\.0\.0\.1 sshd\[9\]: no timestamp nor host$/);
    expect(texts.find((t) => t.includes('nil everything'))).toMatch(/^\S+\+00:00 127\.0\.0\.1 sshd: nil everything$/);
    expect(rec.chunks.find((c) => sourceLines(c.lines)[0]?.text.includes('postfix'))?.jails).toEqual(['postfix']);
  });

  it('drops and counts malformed input (UDP and TCP), logs it rate-limited, and keeps serving', async () => {
    const rec = new RecordingSink();
    const { udp, tcp, src, log } = await start(rec);
    await sendUdp(udp, ['hello, not syslog', '<999>Nov 22 03:04:05 h sshd: bad pri', '<13>1 yesterday h sshd - - - bad date', Buffer.from([0xff, 0xfe, 0x00])]);
    const c = await tcpClient(tcp);
    c.write('garbage line\n<13>Nov 22 03:04:05 h sshd[1]: good over tcp\n');
    await rec.waitForLines(1);
    // A broken octet count cannot be resynchronised: that connection is closed, others are not affected.
    c.write('12x <13>oops');
    await new Promise<void>((r) => c.once('close', () => r()));
    await sendUdp(udp, ['<13>Nov 22 03:04:05 h sshd[2]: good over udp']);
    await rec.waitForLines(2);
    await waitFor(() => src.stats().malformed === 6, 5000, () => JSON.stringify(src.stats()));
    expect(src.stats()).toMatchObject({ malformed: 6, accepted: 2 });
    const warnings = log.entries().filter((e) => typeof e.msg === 'string' && e.msg.startsWith('syslog: malformed'));
    expect(warnings.map((w) => w.reason)).toContain('does not start with <PRI>');
    expect(warnings.map((w) => w.reason)).toContain('PRI 999 is above 191');
    expect(log.entries().some((e) => e.msg === 'syslog: broken TCP framing; closing the connection')).toBe(true);
  });

  it('truncates oversized messages to maxMessageBytes and counts them', async () => {
    const rec = new RecordingSink();
    const { udp, tcp, src } = await start(rec, { maxMessageBytes: 1024 });
    const big = `<13>Nov 22 03:04:05 h sshd[1]: ${'x'.repeat(5000)}`;
    await sendUdp(udp, [big]);
    const c = await tcpClient(tcp);
    c.end(`${Buffer.byteLength(big)} ${big}<13>Nov 22 03:04:05 h sshd[1]: after the big one\n`);
    await rec.waitForLines(3);
    expect(src.stats().truncated).toBe(2);
    const [a, b, after] = rec.texts();
    // The line is the first 1024 bytes of the message minus "<13>" (its PRI).
    expect(a).toBe(`Nov 22 03:04:05 h sshd[1]: ${'x'.repeat(1024 - 31)}`);
    expect(b).toBe(a);
    expect(after).toBe('Nov 22 03:04:05 h sshd[1]: after the big one');
  });

  it('TCP: pauses senders while the sink fails (backpressure) and delivers every line once when it recovers', async () => {
    const rec = new RecordingSink();
    rec.failing = true;
    const { tcp, src } = await start(rec, { tcpPauseLines: 50 });
    const total = 60_000;
    const c = await tcpClient(tcp);
    let written = 0;
    const payload = 'y'.repeat(400);
    await new Promise<void>((resolve) => {
      const pump = (): void => {
        while (written < total) {
          const ok = c.write(`<13>Nov 22 03:04:05 h sshd[1]: n=${written} ${payload}\n`);
          written++;
          if (!ok) return void c.once('drain', pump);
        }
        resolve();
      };
      pump();
      // While the sink fails the listener stops reading: the sender cannot get everything out.
      setTimeout(resolve, 1500);
    });
    const acceptedWhileFailing = src.stats().accepted;
    await sleep(300);
    expect(src.stats().accepted).toBe(acceptedWhileFailing);
    expect(acceptedWhileFailing).toBeLessThan(total);
    expect(c.writableLength + (total - written)).toBeGreaterThan(0);
    expect(rec.chunks).toHaveLength(0);

    rec.failing = false;
    await new Promise<void>((resolve) => {
      const pump = (): void => {
        while (written < total) {
          const ok = c.write(`<13>Nov 22 03:04:05 h sshd[1]: n=${written} ${payload}\n`);
          written++;
          if (!ok) return void c.once('drain', pump);
        }
        resolve();
      };
      pump();
    });
    c.end();
    await rec.waitForLines(total, 60_000);
    const ns = rec.texts().map((t) => Number(/n=(\d+)/.exec(t)?.[1]));
    expect(ns).toHaveLength(total);
    expect(ns.every((n, i) => n === i)).toBe(true);
    expect(src.stats().dropped).toBe(0);
  });

  it('UDP: beyond maxQueuedLines datagrams are dropped and counted (UDP cannot be slowed down)', async () => {
    const rec = new RecordingSink();
    rec.failing = true;
    const { udp, src } = await start(rec, { maxQueuedLines: 10 });
    await sendUdp(udp, Array.from({ length: 40 }, (_, i) => `<13>Nov 22 03:04:05 h sshd[1]: u${i}`));
    await waitFor(() => src.stats().received + src.stats().dropped === 40, 5000, () => JSON.stringify(src.stats()));
    expect(src.stats().dropped).toBe(30);
    rec.failing = false;
    await rec.waitForLines(10);
    expect(rec.texts().map((t) => t.split(': ')[1])).toEqual(Array.from({ length: 10 }, (_, i) => `u${i}`));
  });

  it('refuses to start on an address in use, with a clear error', async () => {
    const rec = new RecordingSink();
    const { tcp } = await start(rec);
    const other = createSyslogSource({ listen: [{ protocol: 'tcp', host: '127.0.0.1', port: tcp }], routes: [], log: captureLog().log });
    await expect(other.start(rec.sink)).rejects.toThrow(new RegExp(`syslog: cannot listen on tcp 127.0.0.1:${tcp}: .*EADDRINUSE`));
  });
});
