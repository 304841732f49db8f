import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Bus } from '@portcullis/shared';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifySignature, type SlackPayload, type WebhookPayload } from '../src/index.js';
import { HttpSink, type HttpRequest } from './helpers/http-sink.js';
import { ban, configDir, flood, publishAlert, publishDecision, sleep, SSHD_JAIL, World } from './helpers/world.js';

const KEY = 'a-webhook-signing-key-of-some-length';
const SLACK_PATH = '/services/T000/B000/XXXXXXXX';

function verify(r: HttpRequest): boolean {
  return verifySignature(KEY, r.body, { signature: r.headers[SIGNATURE_HEADER] as string | undefined, timestamp: r.headers[TIMESTAMP_HEADER] as string | undefined });
}

describe('webhooks: signed generic JSON and Slack-compatible', () => {
  let world: World;
  let http: HttpSink;
  let bus: Bus;
  let cfg: { dir: string; cleanup(): void };

  beforeAll(async () => {
    world = await World.start();
    http = await HttpSink.start();
    cfg = configDir({
      'jail.local': SSHD_JAIL,
      'portcullis.local': `[notifier]
webhook_urls = ${http.url('/hook')}
webhook_secret_env = PCT_HOOK_KEY
slack_urls = ${http.url(SLACK_PATH)}
slack_events = ban, flood
group_window = 1
rate_limit = off
retry_min = 0.2
retry_max = 0.5
reverse_dns = false
`,
    });
    await world.notifier(cfg.dir, { env: { PCT_HOOK_KEY: KEY } });
    bus = await world.bus();
  });
  afterAll(async () => {
    await world.close();
    await http.stop();
    cfg.cleanup();
  });

  it('retries a webhook answering 500 with backoff, same delivery id, until it accepts; the signature verifies', async () => {
    http.plan('/hook', [500, 500, 200]);
    const d = ban({ ip: '203.0.113.10', matches: ['Failed password for <!channel> from 203.0.113.10'] });
    await publishDecision(bus, d);
    await http.waitFor((s) => s.on('/hook').some((r) => r.status === 200));
    const hooks = http.on('/hook');
    expect(hooks.map((r) => r.status)).toEqual([500, 500, 200]);
    expect(new Set(hooks.map((r) => r.headers['x-portcullis-delivery'])).size).toBe(1);
    for (const r of hooks) expect(verify(r)).toBe(true);
    const last = hooks[2] as HttpRequest;
    expect(last.headers['content-type']).toBe('application/json');
    expect(last.headers['x-portcullis-event']).toBe('ban');
    const payload = JSON.parse(last.body) as WebhookPayload;
    expect(payload).toMatchObject({ v: 1, type: 'ban', host: 'testhost', decision: d });
    expect(payload.id).toBe(last.headers['x-portcullis-delivery']);
    expect(payload.subject).toBe('[Portcullis] Banned 203.0.113.10 in sshd on web1');
    // A tampered body or a wrong key does not verify.
    expect(verifySignature(KEY, last.body.replace('203.0.113.10', '203.0.113.11'), { signature: last.headers[SIGNATURE_HEADER] as string, timestamp: last.headers[TIMESTAMP_HEADER] as string })).toBe(false);
    expect(verifySignature('another-key-of-sufficient-length', last.body, { signature: last.headers[SIGNATURE_HEADER] as string, timestamp: last.headers[TIMESTAMP_HEADER] as string })).toBe(false);
  });

  it('posts Slack-compatible blocks with untrusted text escaped', async () => {
    const slack = http.on(SLACK_PATH);
    expect(slack).toHaveLength(1);
    const p = JSON.parse(slack[0]?.body ?? '{}') as SlackPayload;
    expect(typeof p.text).toBe('string');
    expect(p.text).toBe('[Portcullis] Banned 203.0.113.10 in sshd on web1');
    expect(p.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: '[Portcullis] Banned 203.0.113.10 in sshd on web1' } });
    for (const b of p.blocks.slice(1, -1)) {
      expect(b.type).toBe('section');
      if (b.type === 'section') {
        expect(b.text.type).toBe('mrkdwn');
        expect(b.text.text.length).toBeLessThanOrEqual(3000);
      }
    }
    expect(p.blocks.at(-1)?.type).toBe('context');
    const all = JSON.stringify(p.blocks);
    expect(all).toContain('&lt;!channel&gt;');
    expect(all).not.toContain('<!channel>');
    expect(all).toContain('*Address:* 203.0.113.10');
  });

  it('a burst is grouped for webhooks too: at most one post per window, exact counts', async () => {
    await sleep(1100);
    const before = http.on('/hook').length;
    for (let i = 0; i < 12; i++) await publishDecision(bus, ban({ ip: `192.0.2.${i + 1}`, jail: i < 8 ? 'sshd' : 'nginx' }));
    await publishAlert(bus, flood());
    const total = (rs: HttpRequest[]) =>
      rs.reduce((n, r) => {
        const p = JSON.parse(r.body) as WebhookPayload;
        return n + (p.type === 'summary' ? (p.summary?.total ?? 0) : 1);
      }, 0);
    await http.waitFor((s) => total(s.on('/hook').slice(before)) >= 13);
    const mine = http.on('/hook').slice(before);
    expect(mine.length).toBeLessThanOrEqual(2);
    expect(total(mine)).toBe(13);
    const payloads = mine.map((r) => JSON.parse(r.body) as WebhookPayload);
    const sum = (f: (p: WebhookPayload) => number) => payloads.reduce((n, p) => n + f(p), 0);
    expect(sum((p) => (p.type === 'summary' ? (p.summary?.bans ?? 0) : p.type === 'ban' ? 1 : 0))).toBe(12);
    expect(sum((p) => (p.type === 'summary' ? (p.summary?.floods ?? 0) : p.type === 'flood' ? 1 : 0))).toBe(1);
    for (const p of payloads.filter((x) => x.type === 'summary')) expect(p.summary?.sample.length).toBe(p.summary?.total);
    for (const r of mine) expect(verify(r)).toBe(true);
    // Slack received the bans and the flood as well (slack_events = ban, flood).
    await http.waitFor((s) => s.on(SLACK_PATH).length >= 2);
    expect(http.on(SLACK_PATH).length).toBeLessThanOrEqual(3);
  });
});
