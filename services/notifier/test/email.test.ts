import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventsIn, mailsMentioning } from './helpers/count.js';
import { SmtpSink, rawHeaderBlock, textOf, type ReceivedMail } from './helpers/smtp-sink.js';
import { selfSignedCert } from './helpers/tls.js';
import { ban, configDir, flood, publishAlert, publishDecision, SSHD_JAIL, unban, World } from './helpers/world.js';
import type { NotifierOptions } from '../src/index.js';
import type { Bus } from '@portcullis/shared';

const JAILS = `${SSHD_JAIL}
[nginx-http-auth]
enabled = true
logpath = /var/log/nginx/error.log
action = sendmail-whois-lines[name=nginx, dest="web@example.org", sender="fail2ban@<fq-hostname>", sendername="Web Team"]
`;

function notifierConf(port: number, extra = ''): string {
  return `[notifier]
smtp_host = 127.0.0.1
smtp_port = ${port}
smtp_starttls = off
sender = portcullis@example.org
sender_name = Portcullis Test
recipients = ops@example.org
flood_recipients = noc@example.org
group_window = 1
rate_limit = off
retry_min = 0.2
retry_max = 1
${extra}`;
}

const RDNS: NotifierOptions['reverseDns'] = async (ip) => (ip === '203.0.113.77' ? 'scanner.example.net' : null);

describe('e-mail over a real SMTP server', () => {
  let world: World;
  let sink: SmtpSink;
  let bus: Bus;
  let cfg: { dir: string; cleanup(): void };

  beforeAll(async () => {
    world = await World.start();
    sink = await SmtpSink.start();
    cfg = configDir({ 'jail.local': JAILS, 'portcullis.local': notifierConf(sink.port) });
    await world.notifier(cfg.dir, { reverseDns: RDNS });
    bus = await world.bus();
  });
  afterAll(async () => {
    await world.close();
    await sink.stop();
    cfg.cleanup();
  });

  it('a ban mails the default recipients with everything an operator needs, in text and HTML', async () => {
    const d = ban({
      ip: '203.0.113.77',
      failures: 7,
      banCount: 3,
      bantime: 5400,
      seenOn: 'web2',
      decidedBy: 'web1',
      matches: ['Failed password for <b>root</b> & co from 203.0.113.77 port 22', 'second line'],
    });
    await publishDecision(bus, d);
    const [mail] = await sink.waitFor((m) => m.length >= 1);
    const m = mail as ReceivedMail;
    expect(m.to).toEqual(['ops@example.org']);
    expect(m.from).toBe('portcullis@example.org');
    expect(m.parsed.from?.value[0]).toEqual({ address: 'portcullis@example.org', name: 'Portcullis Test' });
    expect(m.parsed.subject).toBe('[Portcullis] Banned 203.0.113.77 in sshd on web2');
    expect(m.parsed.headers.get('auto-submitted')).toBe('auto-generated');
    expect(m.parsed.headers.get('x-portcullis-event')).toBe('ban');
    expect(m.parsed.messageId).toMatch(/^<[0-9a-f]{32}@example\.org>$/);
    const text = textOf(m);
    expect(text).toMatch(/Address:\s+203\.0\.113\.77/);
    expect(text).toMatch(/Reverse DNS:\s+scanner\.example\.net/);
    expect(text).toMatch(/Jail:\s+sshd/);
    expect(text).toMatch(/Seen on:\s+web2/);
    expect(text).toMatch(/Decided by:\s+web1/);
    expect(text).toMatch(/Ban time:\s+1h 30m \(5400 s\)/);
    expect(text).toMatch(/Failures:\s+7/);
    expect(text).toMatch(/Escalation:\s+3rd ban of this address in this jail/);
    expect(text).toContain(`Time:         ${new Date(d.at).toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, ' UTC')}`);
    expect(text).toContain('  Failed password for <b>root</b> & co from 203.0.113.77 port 22');
    expect(text).toContain('  second line');
    const html = m.parsed.html || '';
    expect(html).toContain('Failed password for &lt;b&gt;root&lt;/b&gt; &amp; co');
    expect(html).not.toContain('<b>root</b>');
    expect(html).toContain('name="viewport"');
  });

  it('a jail with a fail2ban mail action mails its own dest, from its own sender', async () => {
    const before = sink.mails.length;
    await publishDecision(bus, ban({ jail: 'nginx-http-auth', ip: '198.51.100.20' }));
    await sink.waitFor((m) => m.length > before);
    const m = sink.mails[before] as ReceivedMail;
    expect(m.to).toEqual(['web@example.org']);
    expect(m.parsed.from?.value[0]).toEqual({ address: 'fail2ban@testhost', name: 'Web Team' });
    expect(m.parsed.subject).toBe('[Portcullis] Banned 198.51.100.20 in nginx-http-auth on web1');
  });

  it('an unban mails the default recipients', async () => {
    const before = sink.mails.length;
    await new Promise((r) => setTimeout(r, 1100)); // outside the grouping window of the last mail
    await publishDecision(bus, unban({ ip: '203.0.113.78', reason: 'bantime expired' }));
    await sink.waitFor((m) => m.length > before);
    const m = sink.mails[before] as ReceivedMail;
    expect(m.to).toEqual(['ops@example.org']);
    expect(m.parsed.subject).toBe('[Portcullis] Unbanned 203.0.113.78 in sshd on web1');
    expect(m.parsed.headers.get('x-portcullis-event')).toBe('unban');
    expect(textOf(m)).toMatch(/Reason:\s+bantime expired/);
    expect(textOf(m)).not.toMatch(/Ban time:/);
  });

  it('a flood alert goes to the flood recipients only, with rates, baseline, top sources and mitigation', async () => {
    const before = sink.mails.length;
    await publishAlert(bus, flood({ host: 'edge1', rate: 250_000, baseline: 500 }));
    await sink.waitFor((m) => m.length > before);
    await new Promise((r) => setTimeout(r, 300));
    expect(sink.mails.length).toBe(before + 1);
    const m = sink.mails[before] as ReceivedMail;
    expect(m.to).toEqual(['noc@example.org']);
    expect(m.parsed.subject).toBe('[Portcullis] Flood started: udp-flood on edge1');
    const text = textOf(m);
    expect(text).toMatch(/Rate:\s+250\.0k udp_pps/);
    expect(text).toMatch(/Baseline:\s+500 udp_pps/);
    expect(text).toMatch(/Above baseline:\s+500\.0x/);
    expect(text).toMatch(/198\.51\.100\.7\s+42\.0%/);
    expect(text).toMatch(/Mitigation:\s+rate-limited UDP to 1000 pps/);
  });

  it('events arriving within the grouping window go out as summaries (at most one per window) with exact counts', async () => {
    await new Promise((r) => setTimeout(r, 1100));
    const before = sink.mails.length;
    const batch = [
      ...Array.from({ length: 7 }, (_, i) => ban({ ip: `192.0.2.${i + 1}` })),
      ...Array.from({ length: 3 }, (_, i) => ban({ jail: 'recidive', ip: `192.0.2.${i + 100}` })),
      unban({ ip: '192.0.2.200' }),
    ];
    for (const d of batch) await publishDecision(bus, d);
    await sink.waitFor((m) => eventsIn(m.slice(before)) >= batch.length, 10_000);
    await new Promise((r) => setTimeout(r, 1200));
    const mine = sink.mails.slice(before);
    // The first send goes at the next tick with whatever is held by then, the rest one window later.
    expect(mine.length).toBeLessThanOrEqual(2);
    expect(eventsIn(mine)).toBe(batch.length);
    const summaries = mine.filter((x) => x.parsed.headers.get('x-portcullis-event') === 'summary');
    expect(summaries.length).toBeGreaterThanOrEqual(1);
    let recidive = 0;
    for (const s of summaries) {
      const n = Number(s.parsed.headers.get('x-portcullis-count'));
      expect(s.parsed.subject).toMatch(new RegExp(`^\\[Portcullis\\] ${n} events: `));
      expect(textOf(s)).toMatch(new RegExp(`Events:\\s+${n}\\n`));
      recidive += Number(/^ {2}recidive\s+(\d+)\s+0$/m.exec(textOf(s))?.[1] ?? 0);
    }
    for (const m of mine.filter((x) => x.parsed.headers.get('x-portcullis-event') === 'ban')) if (/ in recidive /.test(m.parsed.subject ?? '')) recidive++;
    expect(recidive).toBe(3);
    // Every event is in a summary's sample or in a single mail: nothing lost, nothing twice.
    for (const d of batch) expect(mailsMentioning(mine, d.ip), d.ip).toBe(1);
  });

  it('log content with CR/LF and header-like text cannot add or change headers', async () => {
    await new Promise((r) => setTimeout(r, 1100));
    const before = sink.mails.length;
    const evil = 'x\r\nBcc: evil@example.org\r\nSubject: pwned\r\n\r\nbody';
    await publishDecision(
      bus,
      ban({
        ip: '203.0.113.66',
        jail: 'sshd\r\nBcc: evil@example.org',
        seenOn: 'web1\r\nTo: evil@example.org',
        by: `alice${evil}`,
        reason: `r${evil}`,
        matches: [`Failed password for invalid user ${evil} from 203.0.113.66`, '\nBcc: evil@example.org'],
      }),
    );
    await sink.waitFor((m) => m.length > before);
    await new Promise((r) => setTimeout(r, 300));
    expect(sink.mails.length).toBe(before + 1);
    const m = sink.mails[before] as ReceivedMail;
    expect(m.to).toEqual(['ops@example.org']);
    expect(m.parsed.headers.has('bcc')).toBe(false);
    expect(m.parsed.to && !Array.isArray(m.parsed.to) ? m.parsed.to.value.map((a) => a.address) : []).toEqual(['ops@example.org']);
    expect(m.parsed.subject).toBe('[Portcullis] Banned 203.0.113.66 in sshd Bcc: evil@example.org on web1 To: evil@example.org');
    const headers = rawHeaderBlock(m);
    expect(headers).not.toMatch(/^(Bcc|Subject: pwned|To: evil)/im);
    expect(headers.split('\r\n').filter((l) => /^subject:/i.test(l))).toHaveLength(1);
    // In the body the injected CR/LF is shown, not obeyed.
    expect(textOf(m)).toContain('invalid user x\\r\\nBcc: evil@example.org\\r\\nSubject: pwned\\r\\n\\r\\nbody from 203.0.113.66');
  });
});

describe('SMTP with STARTTLS and authentication', () => {
  it('delivers over STARTTLS with AUTH, trusting the configured CA; a wrong password delivers nothing', async () => {
    const cert = selfSignedCert();
    const world = await World.start();
    const sink = await SmtpSink.start({ tls: { key: cert.key, cert: cert.cert }, auth: { user: 'mailer', pass: 's3cret-pass' } });
    const cfg = configDir({
      'jail.local': SSHD_JAIL,
      'smtp.pass': 'wrong-pass\n',
      'portcullis.local': `[notifier]
smtp_host = 127.0.0.1
smtp_port = ${sink.port}
smtp_starttls = require
smtp_user = mailer
smtp_password_env = PCT_SMTP_PASS
smtp_tls_ca_file = ${cert.certFile}
recipients = ops@example.org
group_window = 0
rate_limit = off
retry_min = 0.2
retry_max = 0.5
reverse_dns = false
`,
    });
    try {
      const service = await world.notifier(cfg.dir, { env: { PCT_SMTP_PASS: 's3cret-pass' } });
      const bus = await world.bus();
      await publishDecision(bus, ban({ ip: '203.0.113.90' }));
      const [m] = await sink.waitFor((x) => x.length >= 1);
      expect(m?.secure).toBe(true);
      expect(m?.user).toBe('mailer');
      expect(m?.parsed.subject).toBe('[Portcullis] Banned 203.0.113.90 in sshd on web1');
      await world.stopService(service);

      // The same server, the wrong password from a file: retried, never accepted.
      writeFileSync(path.join(cfg.dir, 'portcullis.local'), `[notifier]
smtp_host = 127.0.0.1
smtp_port = ${sink.port}
smtp_starttls = require
smtp_user = mailer
smtp_password_file = ${path.join(cfg.dir, 'smtp.pass')}
smtp_tls_ca_file = ${cert.certFile}
recipients = ops@example.org
group_window = 0
rate_limit = off
retry_min = 0.2
retry_max = 0.5
reverse_dns = false
`);
      const wrong = await world.notifier(cfg.dir);
      await publishDecision(bus, ban({ ip: '203.0.113.91' }));
      await new Promise((r) => setTimeout(r, 2000));
      expect(sink.mails).toHaveLength(1);
      const status = wrong.status();
      expect(status[0]?.held).toBe(1);
      expect(status[0]?.failures).toBeGreaterThanOrEqual(2);
    } finally {
      await world.close();
      await sink.stop();
      cfg.cleanup();
      cert.cleanup();
    }
  });
});
