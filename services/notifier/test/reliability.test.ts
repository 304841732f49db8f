import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ChildNotifier } from './helpers/child.js';
import { eventsIn, mailsMentioning } from './helpers/count.js';
import { SmtpSink } from './helpers/smtp-sink.js';
import { ban, configDir, HOST, publishDecision, sleep, SSHD_JAIL, waitUntil, World } from './helpers/world.js';

function conf(port: number, extra = ''): string {
  return `[notifier]
smtp_host = 127.0.0.1
smtp_port = ${port}
smtp_starttls = off
recipients = ops@example.org
rate_limit = off
retry_min = 0.2
retry_max = 1
reverse_dns = false
ack_wait = 2
${extra}`;
}

/** Decisions with addresses no other text in the mails contains. */
function decisions(prefix: string, n: number) {
  return Array.from({ length: n }, (_, i) => ban({ ip: `${prefix}.${i + 1}`, matches: ['Failed password for root'] }));
}

function expectExactlyOnce(mails: Parameters<typeof mailsMentioning>[0], ips: string[]): void {
  const counts = Object.fromEntries(ips.map((ip) => [ip, mailsMentioning(mails, ip)]));
  expect(counts).toEqual(Object.fromEntries(ips.map((ip) => [ip, 1])));
}

describe('never lose a notification, never send one twice', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function setup(extra: string) {
    const world = await World.start();
    const sink = await SmtpSink.start();
    const cfg = configDir({ 'jail.local': SSHD_JAIL, 'portcullis.local': conf(sink.port, extra) });
    cleanups.push(() => cfg.cleanup(), () => sink.stop(), () => world.close());
    return { world, sink, cfg, bus: await world.bus() };
  }

  it('the SMTP server down (port closed), then answering 451, then up: every ban is mailed exactly once', async () => {
    const { world, sink, cfg, bus } = await setup('group_window = 0.5');
    const service = await world.notifier(cfg.dir);
    await sink.stop();
    const down = decisions('192.0.2', 8);
    for (const d of down) {
      await publishDecision(bus, d);
      await sleep(100);
    }
    await waitUntil(() => (service.status()[0]?.failures ?? 0) >= 3, 10_000, 'failed attempts while the server is down');
    expect(sink.mails).toHaveLength(0);
    expect(service.status()[0]?.held).toBe(8);

    sink.mode = 'tempfail';
    await sink.restart();
    const refusing = decisions('198.51.100', 5);
    for (const d of refusing) await publishDecision(bus, d);
    await waitUntil(() => sink.refused >= 2, 10_000, 'refused deliveries');
    expect(sink.mails).toHaveLength(0);

    sink.mode = 'accept';
    const all = [...down, ...refusing];
    await sink.waitFor((m) => eventsIn(m) >= all.length, 15_000);
    await sleep(1500);
    expect(eventsIn(sink.mails)).toBe(all.length);
    expectExactlyOnce(sink.mails, all.map((d) => d.ip));
    expect(service.status()[0]?.held).toBe(0);
  });

  it('a notifier stopped and started again mid-stream sends nothing twice and loses nothing', async () => {
    const { world, sink, cfg, bus } = await setup('group_window = 1');
    const first = await world.notifier(cfg.dir);
    const all = decisions('192.0.2', 30);
    const publishing = (async () => {
      for (const d of all) {
        await publishDecision(bus, d);
        await sleep(60);
      }
    })();
    await sleep(700);
    await world.stopService(first);
    await sleep(300);
    await world.notifier(cfg.dir);
    await publishing;
    await sink.waitFor((m) => eventsIn(m) >= all.length, 20_000);
    await sleep(1500);
    expect(eventsIn(sink.mails)).toBe(all.length);
    expectExactlyOnce(sink.mails, all.map((d) => d.ip));
  });

  it('a notifier killed with SIGKILL (holding events, then mid-delivery) is restarted: every ban exactly once', async () => {
    const { world, sink, cfg, bus } = await setup('group_window = 3');
    void world;
    const state = mkdtempSync(path.join(tmpdir(), 'pct-notifier-state-'));
    cleanups.push(() => rmSync(state, { recursive: true, force: true }));
    const { writeFileSync, readFileSync } = await import('node:fs');
    const local = path.join(cfg.dir, 'portcullis.local');
    writeFileSync(local, `[portcullis]\nhost = ${HOST}\nnats_url = ${world.nats.url}\nredis_url = redis://127.0.0.1:1\n\n${readFileSync(local, 'utf8')}`);

    let child = await ChildNotifier.start(cfg.dir, state);
    cleanups.push(() => child.kill());
    const [lead, ...held] = decisions('192.0.2', 5);
    await publishDecision(bus, lead!);
    await sink.waitFor((m) => m.length === 1);
    for (const d of held) await publishDecision(bus, d);
    await sleep(500); // inside the 3 s window: the four are held, un-acked
    child.kill('SIGKILL');
    await child.exited;

    child = await ChildNotifier.start(cfg.dir, state);
    await sink.waitFor((m) => eventsIn(m) >= 5, 15_000);

    // Now die while the SMTP server has the message but has not answered: it must be sent again.
    const late = decisions('198.51.100', 3);
    let killed = 0;
    sink.beforeAccept = async () => {
      if (killed++ > 0) return;
      child.kill('SIGKILL');
      await child.exited;
      throw Object.assign(new Error('client went away'), { responseCode: 421 });
    };
    await sleep(3100);
    for (const d of late) await publishDecision(bus, d);
    await waitUntil(() => killed > 0, 10_000, 'the delivery that kills the notifier');
    await child.exited;
    child = await ChildNotifier.start(cfg.dir, state);
    await sink.waitFor((m) => eventsIn(m) >= 8, 20_000);
    await sleep(2500);
    const ips = [lead!, ...held, ...late].map((d) => d.ip);
    expect(eventsIn(sink.mails)).toBe(8);
    expectExactlyOnce(sink.mails, ips);
  });
});
