import { afterAll, describe, expect, it } from 'vitest';
import { SmtpSink, textOf } from './helpers/smtp-sink.js';
import { ban, configDir, flood, publishAlert, publishDecision, sleep, SSHD_JAIL, unban, World } from './helpers/world.js';

function inSeconds(s: number): string {
  const d = new Date(Date.now() + s * 1000);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

describe('daily digest', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('goes out at the digest time to the digest recipients, with the day counts, once even across a restart', async () => {
    const world = await World.start();
    const sink = await SmtpSink.start();
    const at = inSeconds(5);
    const cfg = configDir({
      'jail.local': SSHD_JAIL,
      'portcullis.local': `[notifier]
smtp_host = 127.0.0.1
smtp_port = ${sink.port}
smtp_starttls = off
recipients = ops@example.org
digest_recipients = boss@example.org
email_events = flood, digest
digest_time = ${at}
rate_limit = off
reverse_dns = false
`,
    });
    cleanups.push(() => cfg.cleanup(), () => sink.stop(), () => world.close());
    const first = await world.notifier(cfg.dir);
    const bus = await world.bus();
    for (let i = 0; i < 4; i++) await publishDecision(bus, ban({ jail: 'sshd', ip: `192.0.2.${i + 1}` }));
    await publishDecision(bus, ban({ jail: 'sshd', ip: '192.0.2.1', until: null, bantime: -1 }));
    await publishDecision(bus, ban({ jail: 'nginx-http-auth', ip: '198.51.100.3' }));
    await publishDecision(bus, unban({ ip: '192.0.2.2' }));
    await publishAlert(bus, flood({ attack: 'syn-flood' }));
    await publishAlert(bus, flood({ attack: 'syn-flood', phase: 'end' }));
    await publishAlert(bus, flood({ attack: 'udp-flood', host: 'edge2' }));

    const mails = await sink.waitFor((m) => m.some((x) => x.to.includes('boss@example.org')), 20_000, 'the digest');
    const digest = mails.find((x) => x.to.includes('boss@example.org'));
    expect(digest?.to).toEqual(['boss@example.org']);
    expect(digest?.parsed.headers.get('x-portcullis-event')).toBe('digest');
    expect(digest?.parsed.subject).toMatch(/^\[Portcullis\] Daily digest \d{4}-\d{2}-\d{2}: 6 bans, 1 unban, 2 floods$/);
    const text = textOf(digest!);
    expect(text).toMatch(/Bans:\s+6\n/);
    expect(text).toMatch(/Permanent bans:\s+1\n/);
    expect(text).toMatch(/Unbans:\s+1\n/);
    expect(text).toMatch(/Distinct banned addresses:\s+5\n/);
    expect(text).toMatch(/Floods started:\s+2\n/);
    expect(text).toMatch(/sshd\s+5\s+1/);
    expect(text).toMatch(/nginx-http-auth\s+1\s+0/);
    expect(text).toMatch(/192\.0\.2\.1\s+2/);
    // ops@ gets flood mails (email_events) but no ban mails and no digest.
    expect(mails.filter((x) => x.to.includes('ops@example.org')).every((x) => x.parsed.headers.get('x-portcullis-event') !== 'ban')).toBe(true);

    await world.stopService(first);
    await world.notifier(cfg.dir);
    await sleep(2000);
    expect(sink.mails.filter((x) => x.to.includes('boss@example.org'))).toHaveLength(1);
  });
});
