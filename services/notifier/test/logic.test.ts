import { describe, expect, it } from 'vitest';
import { RangeSet } from '../src/delivery/range-set.js';
import { RateLimiter } from '../src/delivery/rate-limiter.js';
import { backoffDelay } from '../src/delivery/backoff.js';
import { headerSafe, visibleLine } from '../src/content/sanitize.js';
import { summarize } from '../src/content/summary.js';
import { decisionEvent, floodEvent } from '../src/content/events.js';
import { escapeSlack } from '../src/channels/slack/format.js';
import { signPayload, verifySignature } from '../src/channels/webhook/signature.js';
import { formatBantime } from '../src/content/format.js';
import { localDate, nextSlot, slotAtOrBefore } from '../src/digest/slots.js';
import { ban, flood, unban } from './helpers/world.js';

describe('RangeSet', () => {
  it('merges adjacent and overlapping members and answers membership like a Set', () => {
    const r = new RangeSet();
    const ref = new Set<number>();
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % 500;
    for (let i = 0; i < 2000; i++) {
      const n = rand() + 1;
      r.add(n);
      ref.add(n);
    }
    for (let n = 0; n <= 502; n++) expect(r.has(n), String(n)).toBe(ref.has(n));
    const json = r.toJSON();
    for (let i = 1; i < json.length; i++) expect((json[i]?.[0] ?? 0) > (json[i - 1]?.[1] ?? 0) + 1).toBe(true);
    r.dropThrough(250);
    for (let n = 0; n <= 502; n++) expect(r.has(n), String(n)).toBe(n > 250 && ref.has(n));
    expect(RangeSet.from(r.toJSON()).toJSON()).toEqual(r.toJSON());
  });

  it('a contiguous run of 50,000 is one range', () => {
    const r = new RangeSet();
    for (let n = 1; n <= 50_000; n += 2) r.add(n);
    for (let n = 2; n <= 50_000; n += 2) r.add(n);
    expect(r.toJSON()).toEqual([[1, 50_000]]);
  });
});

describe('RateLimiter and backoff', () => {
  it('allows COUNT sends in any PERIOD, then says when the next one may go', () => {
    const l = new RateLimiter({ count: 2, periodMs: 1000 });
    expect(l.allowedAt(0)).toBe(0);
    l.record(0);
    l.record(100);
    expect(l.allowedAt(200)).toBe(1000);
    expect(l.allowedAt(1000)).toBe(1000);
    l.record(1000);
    expect(l.allowedAt(1001)).toBe(1100);
    expect(new RateLimiter(undefined).allowedAt(5)).toBe(5);
  });

  it('doubles from min to max with jitter, and honours a longer Retry-After', () => {
    expect(backoffDelay(1, 1000, 60_000, undefined, () => 0.5)).toBe(1000);
    expect(backoffDelay(3, 1000, 60_000, undefined, () => 0.5)).toBe(4000);
    expect(backoffDelay(30, 1000, 60_000, undefined, () => 0.5)).toBe(60_000);
    expect(backoffDelay(1, 1000, 60_000, undefined, () => 0)).toBe(800);
    expect(backoffDelay(1, 1000, 60_000, undefined, () => 1)).toBe(1200);
    expect(backoffDelay(1, 1000, 60_000, 30_000, () => 0.5)).toBe(30_000);
  });
});

describe('untrusted text', () => {
  it('headerSafe never leaves CR, LF, controls or bidi overrides in a header', () => {
    const s = headerSafe('a\r\nBcc: x@y\u0000\u001b[31m\u202etxt.exe\u2028z', 200);
    expect(s).toBe('a Bcc: x@y [31m txt.exe z');
    expect(headerSafe('x'.repeat(300), 10)).toBe('xxxxxxxxx…');
  });

  it('visibleLine shows control characters instead of obeying them', () => {
    expect(visibleLine('user\r\nBcc: e@x\t\u001b[2J\u202e')).toBe('user\\r\\nBcc: e@x\t\\x1b[2J\\u202e');
  });

  it('Slack escaping turns <!channel> and links into text', () => {
    expect(escapeSlack('<!channel> <https://evil|click> & co')).toBe('&lt;!channel&gt; &lt;https://evil|click&gt; &amp; co');
  });
});

describe('summaries count exactly', () => {
  it('counts every event of a large batch, by kind and jail, and keeps only the sample', () => {
    const events = [
      ...Array.from({ length: 1200 }, (_, i) => decisionEvent(ban({ jail: 'sshd', ip: `10.0.${Math.floor(i / 250)}.${i % 250}` }))),
      ...Array.from({ length: 300 }, () => decisionEvent(ban({ jail: 'nginx', ip: '192.0.2.1' }))),
      ...Array.from({ length: 25 }, (_, i) => decisionEvent(unban({ jail: `j${i}`, ip: '192.0.2.2' }))),
      floodEvent(flood()),
    ];
    const s = summarize(events, 20);
    expect(s).toMatchObject({ total: 1526, bans: 1500, unbans: 25, floods: 1, distinctAddresses: 1202 });
    expect(s.jails[0]).toEqual({ jail: 'sshd', bans: 1200, unbans: 0 });
    expect(s.jails[1]).toEqual({ jail: 'nginx', bans: 300, unbans: 0 });
    expect(s.jails).toHaveLength(20);
    expect(s.otherJails).toEqual({ jails: 7, bans: 0, unbans: 7 });
    expect(s.jails.reduce((n, j) => n + j.bans + j.unbans, 0) + s.otherJails.bans + s.otherJails.unbans).toBe(1525);
    expect(s.topAddresses[0]).toEqual({ name: '192.0.2.1', count: 300 });
    expect(s.sample).toHaveLength(20);
  });
});

describe('webhook signatures', () => {
  it('verify with the key, fail when the body, key or timestamp is off', () => {
    const key = 'k'.repeat(32);
    const body = '{"v":1}';
    const now = 1_800_000_000_000;
    const ts = Math.floor(now / 1000);
    const sig = signPayload(key, ts, body);
    expect(sig).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verifySignature(key, body, { signature: sig, timestamp: String(ts) }, { nowMs: now })).toBe(true);
    expect(verifySignature(key, '{"v":2}', { signature: sig, timestamp: String(ts) }, { nowMs: now })).toBe(false);
    expect(verifySignature('x'.repeat(32), body, { signature: sig, timestamp: String(ts) }, { nowMs: now })).toBe(false);
    expect(verifySignature(key, body, { signature: sig, timestamp: String(ts) }, { nowMs: now + 600_000 })).toBe(false);
    expect(verifySignature(key, body, { signature: undefined, timestamp: String(ts) }, { nowMs: now })).toBe(false);
  });
});

describe('formatting and digest slots', () => {
  it('writes ban times as fail2ban users read them', () => {
    expect(formatBantime(600)).toBe('10m');
    expect(formatBantime(5400)).toBe('1h 30m');
    expect(formatBantime(8 * 86400)).toBe('1w 1d');
    expect(formatBantime(-1)).toBe('permanent');
  });

  it('digest slots are the local wall-clock time, every day', () => {
    const t = { hour: 8, minute: 0, second: 0 };
    const noon = new Date(2026, 2, 10, 12, 0, 0).getTime();
    const slot = slotAtOrBefore(noon, t);
    expect(new Date(slot).getHours()).toBe(8);
    expect(localDate(slot)).toBe('2026-03-10');
    const early = slotAtOrBefore(new Date(2026, 2, 10, 7, 0, 0).getTime(), t);
    expect(localDate(early)).toBe('2026-03-09');
    expect(localDate(nextSlot(slot, t))).toBe('2026-03-11');
    expect(new Date(nextSlot(slot, t)).getHours()).toBe(8);
  });
});
