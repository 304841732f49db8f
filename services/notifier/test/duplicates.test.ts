import { afterEach, describe, expect, it } from 'vitest';
import { AckDroppingProxy } from './helpers/ack-dropping-proxy.js';
import { eventsIn, mailsMentioning } from './helpers/count.js';
import { SmtpSink } from './helpers/smtp-sink.js';
import { ban, configDir, publishDecision, publishDecisionRetrying, sleep, SSHD_JAIL, waitUntil, World } from './helpers/world.js';

function conf(port: number): string {
  return `[notifier]
smtp_host = 127.0.0.1
smtp_port = ${port}
smtp_starttls = off
recipients = ops@example.org
group_window = 0.5
rate_limit = off
retry_min = 0.2
retry_max = 1
reverse_dns = false
ack_wait = 2
`;
}

function decisions(prefix: string, n: number) {
  return Array.from({ length: n }, (_, i) => ban({ ip: `${prefix}.${i + 1}`, matches: ['Failed password for root'] }));
}

describe('duplicate suppression after lost acks', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('mails accepted but never acked (acks lost) are redelivered to a new notifier, which does not send them again', async () => {
    const world = await World.start();
    const sink = await SmtpSink.start();
    const proxy = await AckDroppingProxy.start(world.nats.port);
    const cfg = configDir({ 'jail.local': SSHD_JAIL, 'portcullis.local': conf(sink.port) });
    cleanups.push(() => cfg.cleanup(), () => sink.stop(), () => world.close(), () => proxy.stop());
    const bus = await world.bus();

    const first = await world.notifier(cfg.dir, {}, undefined, proxy.url);
    const [warmup] = decisions('198.51.100', 1);
    await publishDecision(bus, warmup!);
    await sink.waitFor((m) => m.length === 1);
    await sleep(300);

    proxy.dropAcks = true;
    const lost = decisions('192.0.2', 4);
    for (const d of lost) await publishDecision(bus, d);
    await sink.waitFor((m) => eventsIn(m) === 5);
    await waitUntil(() => proxy.dropped >= 4, 5_000, 'the acks to be dropped');
    await world.stopService(first);

    const second = await world.notifier(cfg.dir);
    // JetStream redelivers the four after ack_wait (2 s); the new notifier finds them in the done-set.
    await waitUntil(() => (second.status()[0]?.duplicatesSkipped ?? 0) >= 4, 15_000, 'the redelivered decisions to be skipped');
    const late = decisions('203.0.113', 2);
    for (const d of late) await publishDecision(bus, d);
    await sink.waitFor((m) => eventsIn(m) === 7);
    await sleep(2500);
    expect(eventsIn(sink.mails)).toBe(7);
    for (const d of [warmup!, ...lost, ...late]) expect(mailsMentioning(sink.mails, d.ip), d.ip).toBe(1);
    expect(second.status()[0]).toMatchObject({ duplicatesSkipped: 4, held: 0 });
  });

  it('nats-server killed and restarted mid-stream: every ban mailed exactly once', async () => {
    const world = await World.start();
    const sink = await SmtpSink.start();
    const cfg = configDir({ 'jail.local': SSHD_JAIL, 'portcullis.local': conf(sink.port) });
    cleanups.push(() => cfg.cleanup(), () => sink.stop(), () => world.close());
    await world.notifier(cfg.dir);
    const bus = await world.bus();
    const before = decisions('192.0.2', 10);
    for (const d of before) {
      await publishDecision(bus, d);
      await sleep(40);
    }
    // Kill the server the moment a mail is accepted: that notification's done-record and acks
    // meet a dead server.
    sink.beforeAccept = async () => {
      sink.beforeAccept = undefined;
      await world.nats.kill();
    };
    const during = decisions('198.51.100', 10);
    const publishing = (async () => {
      for (const d of during) await publishDecisionRetrying(bus, d);
    })();
    await waitUntil(() => !world.nats.running, 10_000, 'nats-server to be killed');
    await sleep(1000);
    await world.nats.restart();
    await publishing;
    const after = decisions('203.0.113', 10);
    for (const d of after) {
      await publishDecisionRetrying(bus, d);
      await sleep(40);
    }
    const all = [...before, ...during, ...after];
    await sink.waitFor((m) => eventsIn(m) >= all.length, 30_000);
    await sleep(3000);
    expect(eventsIn(sink.mails)).toBe(all.length);
    for (const d of all) expect(mailsMentioning(sink.mails, d.ip), d.ip).toBe(1);
  });
});
