import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bus } from '@portcullis/shared';
import { eventsIn } from './helpers/count.js';
import { SmtpSink, textOf, type ReceivedMail } from './helpers/smtp-sink.js';
import { ban, configDir, publishDecision, SSHD_JAIL, World } from './helpers/world.js';

const PUBLISHED: Record<string, number> = { sshd: 30_000, 'nginx-http-auth': 15_000, recidive: 5_000 };
const TOTAL = 50_000;

/** bans per jail from a summary's jail table, or from a single mail's subject. */
function jailCounts(m: ReceivedMail): Record<string, number> {
  const out: Record<string, number> = {};
  if (m.parsed.headers.get('x-portcullis-event') !== 'summary') {
    const jail = /in (\S+) on /.exec(m.parsed.subject ?? '')?.[1] ?? '?';
    out[jail] = 1;
    return out;
  }
  const text = textOf(m);
  const table = text.slice(text.indexOf('Jails:'), text.indexOf('Top addresses:'));
  for (const row of table.matchAll(/^ {2}(\S+)\s+([\d,]+)\s+([\d,]+)$/gm)) {
    if (row[1] === 'Jail') continue;
    out[row[1] as string] = Number((row[2] as string).replace(/,/g, ''));
  }
  return out;
}

describe('storm control', () => {
  let world: World;
  let sink: SmtpSink;
  let bus: Bus;
  let cfg: { dir: string; cleanup(): void };

  beforeAll(async () => {
    world = await World.start();
    sink = await SmtpSink.start();
    cfg = configDir({
      'jail.local': SSHD_JAIL,
      'portcullis.local': `[notifier]
smtp_host = 127.0.0.1
smtp_port = ${sink.port}
smtp_starttls = off
recipients = ops@example.org
group_window = 2
rate_limit = off
reverse_dns = false
`,
    });
    await world.notifier(cfg.dir);
    bus = await world.bus();
  });
  afterAll(async () => {
    await world.close();
    await sink.stop();
    cfg.cleanup();
  });

  it('50,000 bans in a burst become a few summary mails whose counts add up exactly', async () => {
    const decisions = Object.entries(PUBLISHED).flatMap(([jail, n]) => Array.from({ length: n }, (_, i) => ban({ jail, ip: `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}` })));
    // Interleave the jails the way a real storm would.
    decisions.sort((a, b) => (a.id < b.id ? -1 : 1));
    const started = Date.now();
    for (let i = 0; i < decisions.length; i += 1000) await Promise.all(decisions.slice(i, i + 1000).map((d) => publishDecision(bus, d)));
    const publishedMs = Date.now() - started;

    await sink.waitFor((m) => eventsIn(m) >= TOTAL, 120_000, 'mails covering all 50,000 bans');
    const doneMs = Date.now() - started;
    await new Promise((r) => setTimeout(r, 2500));
    const mails = sink.mails;
    expect(eventsIn(mails)).toBe(TOTAL);
    // At most one mail per 2 s window while it lasted (plus the first, sent at once).
    expect(mails.length).toBeLessThanOrEqual(Math.ceil(doneMs / 2000) + 2);
    expect(mails.length).toBeLessThan(60);
    const byJail: Record<string, number> = {};
    for (const m of mails) for (const [jail, n] of Object.entries(jailCounts(m))) byJail[jail] = (byJail[jail] ?? 0) + n;
    expect(byJail).toEqual(PUBLISHED);
    for (const m of mails.filter((x) => x.parsed.headers.get('x-portcullis-event') === 'summary')) {
      const n = Number(m.parsed.headers.get('x-portcullis-count'));
      expect(textOf(m)).toMatch(new RegExp(`Bans:\\s+${n.toLocaleString('en-US')}\\n`));
      expect(textOf(m)).toMatch(/Sample \(first 20 of [\d,]+\):/);
    }
    console.info(`storm: published 50,000 in ${publishedMs} ms; ${mails.length} mails, all delivered after ${doneMs} ms`);
  }, 180_000);
});
