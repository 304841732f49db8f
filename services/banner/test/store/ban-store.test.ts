import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFreePort, ManualClock, isPortcullisError } from '@portcullis/shared';
import { createBanStore, type BanStore, type FailureInput } from '../../src/store/index.js';
import { startTestRedis, type TestServer } from '../../../../tests/harness/index.js';

let server: TestServer;
const clients: Redis[] = [];

function client(): Redis {
  const r = new Redis(server.url, { maxRetriesPerRequest: null });
  clients.push(r);
  return r;
}

beforeAll(async () => {
  server = await startTestRedis();
});

afterAll(async () => {
  for (const c of clients) c.disconnect();
  await server?.dispose();
});

/** Each test gets its own key prefix, so tests never see each other's state. */
function setup(clock = new ManualClock(Date.now()), redis = client()): { store: BanStore; clock: ManualClock; prefix: string; redis: Redis } {
  const prefix = `t-${randomUUID().slice(0, 8)}:`;
  return { store: createBanStore(redis, { clock, keyPrefix: prefix }), clock, prefix, redis };
}

function failure(clock: ManualClock, over: Partial<FailureInput> = {}): FailureInput {
  return {
    eventId: randomUUID(),
    jail: 'sshd',
    ip: '192.0.2.10',
    at: clock.now(),
    maxretry: 3,
    findtime: 600,
    bantime: 60,
    origin: 'log',
    host: 'web1',
    ...over,
  };
}

async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(isPortcullisError(err) ? err.code : err).toBe(code);
}

describe('ban store: deciding bans', () => {
  it('bans exactly on the maxretry-th failure within findtime, with the matched lines', async () => {
    const { store, clock } = setup();
    const t0 = clock.now();
    const r1 = await store.recordFailure(failure(clock, { matches: ['line 1'] }));
    clock.advance(1000);
    const r2 = await store.recordFailure(failure(clock, { matches: ['line 2'] }));
    expect([r1, r2].map((r) => [r.counted, r.failures, r.ban])).toEqual([
      [true, 1, null],
      [true, 2, null],
    ]);
    clock.advance(1000);
    const r3 = await store.recordFailure(failure(clock, { matches: ['line 3a', 'line 3b'] }));
    expect(r3.counted).toBe(true);
    expect(r3.failures).toBe(3);
    expect(r3.ban).toEqual({
      jail: 'sshd',
      ip: '192.0.2.10',
      at: t0 + 2000,
      until: t0 + 2000 + 60_000,
      bantime: 60,
      origin: 'log',
      reason: 'maxretry 3 reached within findtime 600s',
      host: 'web1',
      failures: 3,
      matches: ['line 1', 'line 2', 'line 3a', 'line 3b'],
      banCount: 1,
    });
    expect(await store.getBan('sshd', '192.0.2.10')).toEqual(r3.ban);

    // while banned, further failures never decide a second ban
    const later = [];
    for (let i = 0; i < 4; i++) later.push(await store.recordFailure(failure(clock)));
    expect(later.map((r) => r.ban)).toEqual([null, null, null, null]);
    expect((await store.status('sshd')).totalBanned).toBe(1);
  });

  it('ignores failures outside the findtime window (ManualClock)', async () => {
    const { store, clock } = setup();
    await store.recordFailure(failure(clock));
    await store.recordFailure(failure(clock));
    clock.advance(601_000);
    // the first two left the window, so this is failure 1 again, not 3
    const r = await store.recordFailure(failure(clock));
    expect([r.failures, r.ban]).toEqual([1, null]);

    // a failure whose log time is older than now - findtime is not counted at all
    const stale = await store.recordFailure(failure(clock, { at: clock.now() - 601_000 }));
    expect([stale.counted, stale.failures]).toEqual([false, 1]);

    clock.advance(300_000);
    await store.recordFailure(failure(clock));
    clock.advance(300_001); // the failure at the previous step is now just outside
    const r2 = await store.recordFailure(failure(clock));
    expect([r2.failures, r2.ban]).toEqual([2, null]);
    const r3 = await store.recordFailure(failure(clock));
    expect(r3.failures).toBe(3);
    expect(r3.ban?.failures).toBe(3);
  });

  it('counts a duplicate event id once, also when replayed after the ban cleared the window', async () => {
    const { store, clock } = setup();
    const first = failure(clock);
    expect((await store.recordFailure(first)).counted).toBe(true);
    const dup = await store.recordFailure({ ...first });
    expect([dup.counted, dup.failures, dup.ban]).toEqual([false, 1, null]);
    await store.recordFailure(failure(clock));
    const decided = await store.recordFailure(failure(clock));
    expect(decided.ban).not.toBeNull();
    // the window is empty now; a redelivery of the first event must still not count
    clock.advance(5_000);
    const replay = await store.recordFailure({ ...first });
    expect([replay.counted, replay.failures]).toEqual([false, 0]);
    expect((await store.status('sshd')).totalFailed).toBe(3);
  });

  it('decides exactly one ban from 20 concurrent failures over 4 connections', async () => {
    const clock = new ManualClock(Date.now());
    const prefix = `t-${randomUUID().slice(0, 8)}:`;
    const stores = [client(), client(), client(), client()].map((r) => createBanStore(r, { clock, keyPrefix: prefix }));
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => stores[i % 4]!.recordFailure(failure(clock, { maxretry: 5, matches: [`attempt ${i}`] }))),
    );
    const bans = results.flatMap((r) => (r.ban ? [r.ban] : []));
    expect(bans).toHaveLength(1);
    expect(bans[0]?.failures).toBe(5);
    expect(results.every((r) => r.counted)).toBe(true);
    const status = await stores[0]!.status('sshd');
    expect(status).toMatchObject({ totalFailed: 20, totalBanned: 1, currentlyBanned: 1, bannedIps: ['192.0.2.10'] });
    expect(await stores[1]!.banCount('192.0.2.10', 'sshd')).toBe(1);
  });

  it('decides exactly one ban when concurrent failures carry the same event ids', async () => {
    const clock = new ManualClock(Date.now());
    const prefix = `t-${randomUUID().slice(0, 8)}:`;
    const stores = [client(), client(), client(), client()].map((r) => createBanStore(r, { clock, keyPrefix: prefix }));
    const ids = ['a', 'b', 'c'];
    // every event delivered to every instance (e.g. a redelivery storm)
    const results = await Promise.all(
      stores.flatMap((s) => ids.map((eventId) => s.recordFailure(failure(clock, { eventId, maxretry: 3 })))),
    );
    expect(results.filter((r) => r.counted)).toHaveLength(3);
    expect(results.filter((r) => r.ban)).toHaveLength(1);
  });

  it('stores a permanent ban with until = null that never expires', async () => {
    const { store, clock } = setup();
    let last = null;
    for (let i = 0; i < 3; i++) last = await store.recordFailure(failure(clock, { bantime: -1 }));
    expect(last?.ban).toMatchObject({ until: null, bantime: -1 });
    clock.advance(10 * 365 * 24 * 3600 * 1000);
    expect(await store.expireDue(clock.now())).toEqual([]);
    expect((await store.activeBans('sshd')).map((b) => [b.ip, b.until])).toEqual([['192.0.2.10', null]]);
    expect(await store.getBan('sshd', '192.0.2.10')).toMatchObject({ until: null });
  });

  it('keeps IPv4-mapped IPv6 and IPv4 spellings on the same counter', async () => {
    const { store, clock } = setup();
    await store.recordFailure(failure(clock, { ip: '::ffff:192.0.2.77' }));
    await store.recordFailure(failure(clock, { ip: '::FFFF:c000:024d' }));
    const r = await store.recordFailure(failure(clock, { ip: '192.0.2.77' }));
    expect(r.ban?.ip).toBe('192.0.2.77');
    const v6 = await store.ban('sshd', '2001:DB8:0:0::1', { bantime: 60, origin: 'cli', reason: 'manual' });
    expect(v6.ban.ip).toBe('2001:db8::1');
  });

  it('bounds the matched lines of a ban to the last 50', async () => {
    const { store, clock } = setup();
    const lines = (n: number) => Array.from({ length: 30 }, (_, i) => `event ${n} line ${i}`);
    // lines come out in log-time order; distinct times make that order deterministic
    await store.recordFailure(failure(clock, { matches: lines(1) }));
    clock.advance(1);
    await store.recordFailure(failure(clock, { matches: lines(2) }));
    clock.advance(1);
    const r = await store.recordFailure(failure(clock, { matches: [...lines(3), 'x'.repeat(10_000)] }));
    expect(r.ban?.matches).toHaveLength(50);
    expect(r.ban?.matches[0]).toBe('event 2 line 11'); // 30 + 30 + 31 lines, the last 50 start at 41
    expect(r.ban?.matches[49]).toHaveLength(4096);
  });
});

describe('ban store: manual bans, unban, expiry', () => {
  it('manual ban creates, extends and leaves alone', async () => {
    const { store, clock } = setup();
    const t0 = clock.now();
    const a = await store.ban('sshd', '198.51.100.5', { bantime: 60, origin: 'cli', reason: 'by hand', by: 'alice', matches: ['m'] });
    expect(a.status).toBe('created');
    expect(a.ban).toEqual({
      jail: 'sshd',
      ip: '198.51.100.5',
      at: t0,
      until: t0 + 60_000,
      bantime: 60,
      origin: 'cli',
      reason: 'by hand',
      by: 'alice',
      failures: 0,
      matches: ['m'],
      banCount: 1,
    });
    const shorter = await store.ban('sshd', '198.51.100.5', { bantime: 30, origin: 'api', reason: 'again' });
    expect(shorter.status).toBe('unchanged');
    expect(shorter.ban).toEqual(a.ban);
    const perm = await store.ban('sshd', '198.51.100.5', { bantime: -1, origin: 'api', reason: 'forever' });
    expect(perm.status).toBe('extended');
    expect(perm.ban).toMatchObject({ until: null, bantime: -1, at: t0, origin: 'cli', banCount: 1 });
    expect((await store.getBan('sshd', '198.51.100.5'))?.until).toBeNull();
    expect((await store.status('sshd')).totalBanned).toBe(1);
  });

  it('expireDue hands each expired ban to exactly one of two concurrent callers', async () => {
    const clock = new ManualClock(Date.now());
    const prefix = `t-${randomUUID().slice(0, 8)}:`;
    const a = createBanStore(client(), { clock, keyPrefix: prefix });
    const b = createBanStore(client(), { clock, keyPrefix: prefix });
    const short: string[] = [];
    for (let i = 1; i <= 15; i++) {
      for (const jail of ['sshd', 'nginx']) {
        await a.ban(jail, `203.0.113.${i}`, { bantime: 60, origin: 'api', reason: 'test' });
        short.push(`${jail}/203.0.113.${i}`);
      }
      await a.ban('sshd', `198.51.100.${i}`, { bantime: 600, origin: 'api', reason: 'test' });
    }
    clock.advance(59_999);
    expect(await a.expireDue(clock.now())).toEqual([]);
    clock.advance(1);
    const [fromA, fromB] = await Promise.all([a.expireDue(clock.now()), b.expireDue(clock.now())]);
    const claimed = [...fromA, ...fromB].map((r) => `${r.jail}/${r.ip}`);
    expect(claimed.sort()).toEqual(short.sort());
    expect(new Set(claimed).size).toBe(30);
    expect([...fromA, ...fromB].every((r) => r.reason === 'test' && r.until === clock.now())).toBe(true);
    expect(await b.expireDue(clock.now())).toEqual([]);
    expect((await a.activeBans()).map((r) => r.ip).sort()).toHaveLength(15);
    expect(await a.getBan('sshd', '203.0.113.1')).toBeNull();
  });

  it('unban removes the ban from one jail or from every jail', async () => {
    const { store, clock } = setup();
    const ip = '203.0.113.9';
    for (const jail of ['sshd', 'nginx', 'postfix']) await store.ban(jail, ip, { bantime: 600, origin: 'api', reason: 'r' });
    await store.ban('sshd', '203.0.113.10', { bantime: 600, origin: 'api', reason: 'r' });

    const one = await store.unban('sshd', ip, { origin: 'cli', by: 'bob' });
    expect(one.map((r) => [r.jail, r.ip])).toEqual([['sshd', ip]]);
    expect(await store.getBan('sshd', ip)).toBeNull();
    expect(await store.getBan('nginx', ip)).not.toBeNull();

    const rest = await store.unban(null, `::ffff:${ip}`, { origin: 'api' });
    expect(rest.map((r) => r.jail).sort()).toEqual(['nginx', 'postfix']);
    expect((await store.activeBans()).map((r) => `${r.jail}/${r.ip}`)).toEqual(['sshd/203.0.113.10']);
    expect(await store.unban(null, ip, { origin: 'api' })).toEqual([]);

    // the unban is remembered with the offence history, which outlives the ban
    const h = await store.history('sshd', ip);
    expect(h).toEqual({ banCount: 1, lastBanAt: clock.now(), lastUnban: { at: clock.now(), origin: 'cli', by: 'bob' } });
    expect(await store.banCount(ip)).toBe(3);
  });

  it('counts bans per ip and jail, across expiry, for escalation', async () => {
    const { store, clock } = setup();
    const ip = '192.0.2.50';
    for (let round = 1; round <= 3; round++) {
      let ban = null;
      for (let i = 0; i < 3; i++) ban = (await store.recordFailure(failure(clock, { ip }))).ban ?? ban;
      expect(ban?.banCount).toBe(round);
      clock.advance(61_000);
      expect((await store.expireDue(clock.now())).map((r) => r.ip)).toEqual([ip]);
    }
    await store.ban('recidive', ip, { bantime: 3600, origin: 'api', reason: 'repeat' });
    expect(await store.banCount(ip, 'sshd')).toBe(3);
    expect(await store.banCount(ip, 'recidive')).toBe(1);
    expect(await store.banCount(ip)).toBe(4);
    expect(await store.banCount('192.0.2.51')).toBe(0);
  });

  it('reports status like fail2ban-client status JAIL', async () => {
    const { store, clock } = setup();
    const f = (ip: string) => store.recordFailure(failure(clock, { ip, bantime: 120 }));
    await f('192.0.2.1');
    await f('192.0.2.2');
    await f('192.0.2.2');
    for (let i = 0; i < 3; i++) await f('192.0.2.3');
    await store.ban('sshd', '198.51.100.1', { bantime: 60, origin: 'cli', reason: 'manual' });
    const s = await store.status('sshd');
    expect({ ...s, failedIps: [...s.failedIps].sort(), bannedIps: [...s.bannedIps].sort() }).toEqual({
      currentlyFailed: 2,
      totalFailed: 6,
      currentlyBanned: 2,
      totalBanned: 2,
      failedIps: ['192.0.2.1', '192.0.2.2'],
      bannedIps: ['192.0.2.3', '198.51.100.1'],
    });
    clock.advance(61_000); // the manual ban ran out (not yet swept)
    expect((await store.status('sshd')).bannedIps).toEqual(['192.0.2.3']);
    clock.advance(600_000); // every failure left the window
    expect(await store.status('sshd')).toMatchObject({ currentlyFailed: 0, failedIps: [], totalFailed: 6, currentlyBanned: 0 });
    expect(await store.status('unused')).toEqual({
      currentlyFailed: 0,
      totalFailed: 0,
      currentlyBanned: 0,
      totalBanned: 0,
      bannedIps: [],
      failedIps: [],
    });
  });
});

describe('ban store: redis lifecycle and hygiene', () => {
  it('keeps bans, failures and history across a redis restart (appendonly)', async () => {
    const { store, clock } = setup();
    const ban = (await store.ban('sshd', '203.0.113.200', { bantime: 600, origin: 'cli', reason: 'persist' })).ban;
    const perm = (await store.ban('nginx', '2001:db8::dead', { bantime: -1, origin: 'api', reason: 'persist' })).ban;
    await store.recordFailure(failure(clock, { ip: '192.0.2.99' }));
    const replayed = failure(clock, { ip: '192.0.2.99' });
    await store.recordFailure(replayed);

    await server.restart();

    expect(await store.getBan('sshd', '203.0.113.200')).toEqual(ban);
    expect(await store.getBan('nginx', '2001:db8::dead')).toEqual(perm);
    expect(await store.status('sshd')).toMatchObject({ currentlyFailed: 1, totalFailed: 2, failedIps: ['192.0.2.99'] });
    // the script cache is empty after a restart: the store reloads its script transparently
    expect((await store.recordFailure(replayed)).counted).toBe(false);
    const third = await store.recordFailure(failure(clock, { ip: '192.0.2.99' }));
    expect(third.ban?.failures).toBe(3);
    expect(await store.banCount('203.0.113.200')).toBe(1);
  });

  it('recovers from a flushed script cache', async () => {
    const { store, clock, redis } = setup();
    await store.recordFailure(failure(clock));
    await redis.script('FLUSH');
    expect((await store.recordFailure(failure(clock))).failures).toBe(2);
  });

  it('gives every key a TTL except the documented bounded ones', async () => {
    const { store, clock, redis, prefix } = setup();
    await store.recordFailure(failure(clock, { ip: '192.0.2.1', matches: ['a'] }));
    for (let i = 0; i < 3; i++) await store.recordFailure(failure(clock, { ip: '192.0.2.2' }));
    await store.ban('sshd', '192.0.2.3', { bantime: 60, origin: 'cli', reason: 'r' });
    await store.unban('sshd', '192.0.2.3', { origin: 'cli' });
    const keys = await redis.keys(`${prefix}*`);
    const ttls = Object.fromEntries(await Promise.all(keys.map(async (k) => [k.slice(prefix.length), await redis.pttl(k)] as const)));
    const noTtl = Object.entries(ttls)
      .filter(([, t]) => t < 0)
      .map(([k]) => k)
      .sort();
    // the audit stream is bounded by XADD MAXLEN ~ instead of a TTL
    expect(noTtl).toEqual(['audit', 'jails', '{sshd}:bans', '{sshd}:due', '{sshd}:stats']);
    // the window keys live about findtime, the replay memory findtime plus a small margin
    expect(ttls['{sshd}:fail:192.0.2.1']).toBeGreaterThan(590_000);
    expect(ttls['{sshd}:fail:192.0.2.1']).toBeLessThanOrEqual(600_001);
    expect(ttls['{sshd}:match:192.0.2.1']).toBeLessThanOrEqual(600_001);
    expect(ttls['{sshd}:seen:192.0.2.2']).toBeLessThanOrEqual(660_001);
    expect(ttls['{sshd}:failing']).toBeLessThanOrEqual(600_001);
    // offence history is kept long (default 30 days) for escalation
    expect(ttls['{sshd}:off:192.0.2.2']).toBeGreaterThan(29 * 24 * 3600 * 1000);
    expect(ttls['{sshd}:off:192.0.2.3']).toBeGreaterThan(29 * 24 * 3600 * 1000);
  });

  it('rejects bad input with coded errors', async () => {
    const { store, clock } = setup();
    await rejectsWith(store.recordFailure(failure(clock, { ip: '192.0.2.300' })), 'PC_ADDRESS_INVALID');
    await rejectsWith(store.recordFailure(failure(clock, { maxretry: 0 })), 'PC_CONFIG_INVALID');
    await rejectsWith(store.recordFailure(failure(clock, { findtime: -5 })), 'PC_CONFIG_INVALID');
    await rejectsWith(store.recordFailure(failure(clock, { jail: 'bad jail' })), 'PC_CONFIG_INVALID');
    await rejectsWith(store.recordFailure(failure(clock, { eventId: '' })), 'PC_MESSAGE_INVALID');
    await rejectsWith(store.ban('sshd', 'not-an-ip', { bantime: 60, origin: 'cli', reason: 'r' }), 'PC_ADDRESS_INVALID');
    await rejectsWith(store.ban('sshd', '192.0.2.1', { bantime: 60, origin: 'nope' as 'cli', reason: 'r' }), 'PC_MESSAGE_INVALID');
    expect((await store.status('sshd')).totalFailed).toBe(0);
    expect(() => createBanStore(client(), { clock, historyTtlSeconds: 0 })).toThrow(/historyTtlSeconds/);
  });

  it('reports an unreachable Redis as PC_REDIS_UNAVAILABLE', async () => {
    // nothing listens on a port we just released; no reconnects, so commands fail instead of queueing
    const dead = new Redis({ port: await findFreePort(), host: '127.0.0.1', maxRetriesPerRequest: 0, retryStrategy: () => null });
    dead.on('error', () => undefined);
    clients.push(dead);
    const clock = new ManualClock(Date.now());
    const store = createBanStore(dead, { clock });
    await rejectsWith(store.recordFailure(failure(clock)), 'PC_REDIS_UNAVAILABLE');
    await rejectsWith(store.status('sshd'), 'PC_REDIS_UNAVAILABLE');
  });
});
