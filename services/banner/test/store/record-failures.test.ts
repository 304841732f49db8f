import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFreePort, isPortcullisError, ManualClock } from '@portcullis/shared';
import { createEscalationPolicy } from '../../src/escalation/index.js';
import { createBanStore, type BanRecord, type BanStore, type BatchFailure, type Escalation, type FailureResult } from '../../src/store/index.js';
import { startTestRedis, type TestServer } from '../../../../tests/harness/index.js';
import { jailConfig } from '../escalation/jail-fixture.js';

/**
 * BanStore.recordFailures (the record-failures script) against recordFailure (one script call per
 * failure), on a real redis-server: the same failures, one by one into one key prefix and in
 * batches into another, must give the same results and leave the same keys.
 */
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

/** A small deterministic generator, so a failing sequence can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return s / 2 ** 32;
  };
}

const JAIL = { jail: 'sshd', maxretry: 3, findtime: 600, bantime: 60 };

function stores(clock: ManualClock, redis = client()) {
  const a = `t-${randomUUID().slice(0, 8)}:`;
  const b = `t-${randomUUID().slice(0, 8)}:`;
  const opts = { clock, host: 'banner-a', random: () => 0.5 };
  return { one: createBanStore(redis, { ...opts, keyPrefix: a }), many: createBanStore(redis, { ...opts, keyPrefix: b }), a, b, redis };
}

/** A ban as compared: matched lines as a multiset (same-time lines may come in another order). */
function banView(b: BanRecord | null): unknown {
  return b === null ? null : { ...b, matches: Array.isArray(b.matches) ? [...b.matches].sort() : b.matches };
}

function resultView(r: FailureResult | null): unknown {
  return r === null ? null : { ...r, ban: banView(r.ban) };
}

/** Every key of a prefix with its content (and whether it expires), the audit stream as a multiset. */
async function dump(redis: Redis, prefix: string): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const key of (await redis.keys(`${prefix}*`)).sort()) {
    const name = key.slice(prefix.length);
    const type = await redis.type(key);
    const expires = (await redis.pttl(key)) >= 0;
    let value: unknown;
    if (type === 'zset') value = await redis.zrange(key, 0, -1, 'WITHSCORES');
    else if (type === 'hash') {
      const h = await redis.hgetall(key);
      value = name.endsWith(':bans') ? Object.fromEntries(Object.entries(h).map(([k, v]) => [k, banView(JSON.parse(v) as BanRecord)])) : h;
    } else if (type === 'stream') {
      const entries = await redis.xrange(key, '-', '+');
      value = entries
        .map(([, fields]) => {
          const e = JSON.parse(fields[fields.indexOf('e') + 1]!) as { matches?: string[] };
          const entry: Record<string, unknown> = { ...e, matches: e.matches ? [...e.matches].sort() : undefined };
          const sorted = Object.fromEntries(Object.keys(entry).sort().map((k) => [k, entry[k]]));
          return JSON.stringify({ fields: fields.filter((_, i) => i % 2 === 0 || fields[i - 1] !== 'e'), e: sorted });
        })
        .sort();
    } else if (type === 'set') value = (await redis.smembers(key)).sort();
    else value = await redis.get(key);
    out[name] = { type, expires, value };
  }
  return out;
}

interface Step {
  failures: (BatchFailure & { key: string })[];
  advanceMs: number;
  expire: boolean;
  unban?: string;
}

/** Random failures of a few addresses: duplicate ids, old and future log times, two hosts and origins. */
function script(seed: number, steps: number, t0: number): Step[] {
  const r = rng(seed);
  const ips = ['192.0.2.1', '192.0.2.2', '2001:db8::7', '::ffff:192.0.2.1', '198.51.100.9'];
  const ids: string[] = [];
  const out: Step[] = [];
  let t = t0;
  for (let s = 0; s < steps; s++) {
    const failures: Step['failures'] = [];
    const n = 1 + Math.floor(r() * 12);
    for (let i = 0; i < n; i++) {
      const reuse = ids.length > 0 && r() < 0.15;
      const id = reuse ? ids[Math.floor(r() * ids.length)]! : `ev-${s}-${i}`;
      if (!reuse) ids.push(id);
      const when = r();
      const at = when < 0.1 ? t - 700_000 : when < 0.15 ? t + 30_000 : t - Math.floor(r() * 300_000);
      failures.push({
        key: id,
        eventId: id,
        ip: ips[Math.floor(r() * ips.length)]!,
        at,
        ...(r() < 0.8 ? { matches: [`line ${id}`] } : {}),
        origin: r() < 0.8 ? 'log' : 'external',
        host: r() < 0.5 ? 'web1' : 'web2',
      });
    }
    const advanceMs = Math.floor(r() * 120_000);
    t += advanceMs;
    out.push({ failures, advanceMs, expire: r() < 0.3, ...(r() < 0.1 ? { unban: ips[Math.floor(r() * ips.length)]! } : {}) });
  }
  return out;
}

async function compare(seed: number, escalation?: Escalation): Promise<void> {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const { one, many, a, b, redis } = stores(clock);
  const jail = { ...JAIL, ...(escalation ? { escalation } : {}) };
  for (const [s, step] of script(seed, 40, clock.now()).entries()) {
    const single: unknown[] = [];
    for (const f of step.failures) single.push(resultView(await one.recordFailure({ ...f, ...jail })));
    const batch = await many.recordFailures({ ...jail, failures: step.failures });
    expect(batch.error, `seed ${seed} step ${s}`).toBeUndefined();
    expect(batch.results.map(resultView), `seed ${seed} step ${s}`).toEqual(single);
    expect(await dump(redis, b), `seed ${seed} step ${s}`).toEqual(await dump(redis, a));
    clock.advance(step.advanceMs);
    if (step.expire) expect((await many.expireDue(clock.now())).map(banView)).toEqual((await one.expireDue(clock.now())).map(banView));
    if (step.unban) {
      expect((await many.unban('sshd', step.unban, { origin: 'cli' })).map(banView)).toEqual((await one.unban('sshd', step.unban, { origin: 'cli' })).map(banView));
    }
  }
}

describe('ban store: recording failures in batches', () => {
  it.each([1, 2, 3, 4])('gives every failure the outcome and leaves the keys of one-by-one recording (seed %i)', async (seed) => {
    await compare(seed);
  });

  it.each([5, 6])('does so with escalation and known-offender weight too (seed %i)', async (seed) => {
    await compare(seed, createEscalationPolicy(jailConfig('sshd', { 'bantime.increment': 'true', 'bantime.rndtime': '10' })));
  });

  it('bans 3,000 addresses of 9,000 failures across script calls, each exactly once, and counts a replay of the batch nowhere', async () => {
    const clock = new ManualClock(Date.now());
    const { many: store } = stores(clock);
    const ips = Array.from({ length: 3000 }, (_, i) => `2001:db8:1::${(i + 1).toString(16)}`);
    const failures: BatchFailure[] = [];
    for (let round = 0; round < 3; round++) for (const ip of ips) failures.push({ eventId: `${ip}/${round}`, ip, at: clock.now(), matches: [`round ${round}`], origin: 'log', host: 'web1' });
    const first = await store.recordFailures({ ...JAIL, failures });
    expect(first.error).toBeUndefined();
    const bans = first.results.filter((r) => r?.ban).map((r) => r!.ban!);
    expect(bans.map((b) => b.ip).sort()).toEqual([...ips].sort());
    expect(bans.every((b) => b.failures === 3 && b.banCount === 1 && b.matches.join() === 'round 0,round 1,round 2')).toBe(true);
    const again = await store.recordFailures({ ...JAIL, failures });
    expect(again.results.every((r) => r !== null && !r.counted && r.ban === null)).toBe(true);
    const status = await store.status('sshd');
    expect([status.currentlyBanned, status.totalBanned, status.totalFailed]).toEqual([3000, 3000, 9000]);
  });

  it('decides each ban exactly once when four banners record overlapping batches at the same time', async () => {
    const clock = new ManualClock(Date.now());
    const prefix = `t-${randomUUID().slice(0, 8)}:`;
    const banners = Array.from({ length: 4 }, () => createBanStore(client(), { clock, keyPrefix: prefix, host: 'banner-a' }));
    const ips = Array.from({ length: 200 }, (_, i) => `198.51.100.${i + 1}`);
    // every banner gets every failure (a redelivery to several instances), in its own order
    const all: BatchFailure[] = [];
    for (let k = 0; k < 4; k++) for (const ip of ips) all.push({ eventId: `${ip}#${k}`, ip, at: clock.now(), origin: 'log', host: 'web1' });
    const r = rng(7);
    const outcomes = await Promise.all(
      banners.map((s) => s.recordFailures({ ...JAIL, failures: [...all].sort(() => r() - 0.5) })),
    );
    const bans = outcomes.flatMap((o) => o.results.filter((x) => x?.ban).map((x) => x!.ban!.ip));
    expect(bans.sort()).toEqual([...ips].sort());
    const counted = outcomes.flatMap((o) => o.results.filter((x) => x?.counted)).length;
    expect(counted).toBe(all.length);
  });

  it('escalates the ban time per address with the previous-ban count read in the script', async () => {
    const clock = new ManualClock(Date.now());
    const { many: store } = stores(clock);
    const escalation = createEscalationPolicy(jailConfig('sshd', { 'bantime.increment': 'true' }));
    const ips = ['192.0.2.20', '192.0.2.21', '192.0.2.22'];
    const banTimes: number[][] = [];
    for (let round = 0; round < 3; round++) {
      const failures = ips.flatMap((ip) => [0, 1, 2].map((k) => ({ eventId: `${ip}/${round}/${k}`, ip, at: clock.now(), origin: 'log' as const, host: 'web1' })));
      const res = await store.recordFailures({ ...JAIL, bantime: 600, escalation, failures });
      banTimes.push(res.results.filter((x) => x?.ban).map((x) => x!.ban!.bantime));
      clock.advance(3_600_000 * 4);
      await store.expireDue(clock.now());
    }
    // a known offender's failures weigh more, so later rounds ban too; the time doubles per ban
    expect(banTimes).toEqual([
      [600, 600, 600],
      [1200, 1200, 1200],
      [2400, 2400, 2400],
    ]);
  });

  it('never bans an address the fleet-wide trusted list covers, reloading an outdated list first', async () => {
    const clock = new ManualClock(Date.now());
    const prefix = `t-${randomUUID().slice(0, 8)}:`;
    let version = 0;
    let trusted = new Set<string>();
    let fleetTrusted = new Set<string>();
    const redis = client();
    const gate = {
      version: () => version,
      refresh: async () => {
        version = Number(await redis.get(`${prefix}trusted:v`));
        trusted = new Set(fleetTrusted);
      },
      isTrusted: (ip: string) => trusted.has(ip),
    };
    const store = createBanStore(redis, { clock, keyPrefix: prefix, trustGate: gate });
    // another banner trusts 192.0.2.31 after this one loaded the list: the script sees a newer version
    fleetTrusted = new Set(['192.0.2.31']);
    await redis.set(`${prefix}trusted:v`, '1');
    const failures = ['192.0.2.30', '192.0.2.31'].flatMap((ip) => [0, 1, 2].map((k) => ({ eventId: `${ip}/${k}`, ip, at: clock.now(), origin: 'log' as const, host: 'web1' })));
    const res = await store.recordFailures({ ...JAIL, failures });
    expect(res.results.filter((x) => x?.ban).map((x) => x!.ban!.ip)).toEqual(['192.0.2.30']);
    expect(res.results.slice(3).every((x) => x?.trusted === true || (x?.counted && x.ban === null))).toBe(true);
    expect(await store.getBan('sshd', '192.0.2.31')).toBeNull();
  });

  it('feeds many bans to a recidive jail at once, each counted once', async () => {
    const clock = new ManualClock(Date.now());
    const { many: store } = stores(clock);
    const target = { jail: 'recidive', maxretry: 2, findtime: 86_400, bantime: 604_800 };
    const banOf = async (jail: string, ip: string): Promise<BanRecord> => (await store.ban(jail, ip, { bantime: 60, origin: 'cli', reason: 'r' })).ban;
    const first = [await banOf('sshd', '192.0.2.40'), await banOf('nginx', '192.0.2.41'), await banOf('recidive', '192.0.2.42')];
    const r1 = await store.feedRecidiveMany(first, target);
    expect(r1.results.map((x) => x?.counted)).toEqual([true, true, false]);
    expect((await store.feedRecidiveMany(first, target)).results.map((x) => x?.counted)).toEqual([false, false, false]);
    clock.advance(1000);
    const second = [await banOf('nginx', '192.0.2.40')];
    const r2 = await store.feedRecidiveMany(second, target);
    expect(r2.results[0]?.ban?.ip).toBe('192.0.2.40');
    expect(r2.results[0]?.ban?.reason).toMatch(/^recidive: banned 2 times/);
  });

  it('rejects an invalid failure before writing anything, with a coded error', async () => {
    const clock = new ManualClock(Date.now());
    const { many: store } = stores(clock);
    const ok = { eventId: 'a', ip: '192.0.2.50', at: clock.now(), origin: 'log' as const, host: 'web1' };
    const err = await store.recordFailures({ ...JAIL, failures: [ok, { ...ok, eventId: 'b', ip: '192.0.2.300' }] }).catch((e: unknown) => e);
    expect(isPortcullisError(err) && err.code).toBe('PC_ADDRESS_INVALID');
    expect((await store.status('sshd')).totalFailed).toBe(0);
  });

  it('reports an unreachable Redis as PC_REDIS_UNAVAILABLE with nothing recorded', async () => {
    const dead = new Redis({ port: await findFreePort(), host: '127.0.0.1', maxRetriesPerRequest: 0, retryStrategy: () => null });
    dead.on('error', () => undefined);
    clients.push(dead);
    const clock = new ManualClock(Date.now());
    const store: BanStore = createBanStore(dead, { clock });
    const err = await store
      .recordFailures({ ...JAIL, failures: [{ eventId: 'a', ip: '192.0.2.60', at: clock.now(), origin: 'log', host: 'web1' }] })
      .then((r) => r.error)
      .catch((e: unknown) => e);
    expect(isPortcullisError(err) && err.code).toBe('PC_REDIS_UNAVAILABLE');
  });
});
