import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '@portcullis/shared';
import { createBanStore, type BanStore, type BulkBanOutcome, type Escalation, type TrustGate } from '../../src/store/index.js';
import { BULK_BAN_CHUNK } from '../../src/store/bulk-ban.js';
import { bulkBanScript } from '../../src/store/bulk-ban-script.js';
import { runScript } from '../../src/store/script-runner.js';
import { startTestRedis, type TestServer } from '../../../../tests/harness/index.js';

let server: TestServer;
let redis: Redis;

beforeAll(async () => {
  server = await startTestRedis();
  redis = new Redis(server.url, { maxRetriesPerRequest: null });
});

afterAll(async () => {
  redis?.disconnect();
  await server?.dispose();
});

function setup(opts: { trustGate?: TrustGate } = {}): { store: BanStore; clock: ManualClock; prefix: string } {
  const prefix = `b-${randomUUID().slice(0, 8)}:`;
  const clock = new ManualClock(Date.now());
  return { store: createBanStore(redis, { clock, keyPrefix: prefix, host: 'h1', ...opts }), clock, prefix };
}

/** Distinct documentation addresses, canonical. */
function addresses(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `2001:db8:7:${(i >> 12) + 1}::${(i & 0xfff) + 1}`);
}

const statusOf = (o: BulkBanOutcome): string => ('trusted' in o ? 'trusted' : o.result.status);

describe('ban store: bulk manual bans', () => {
  it('bans thousands of addresses across chunks exactly as ban() would, and publishes per chunk', async () => {
    const { store, clock, prefix } = setup();
    const t0 = clock.now();
    const ips = addresses(BULK_BAN_CHUNK + 500);
    const chunks: number[] = [];
    const out = await store.banMany('sshd', ips, { bantime: 60, origin: 'cli', reason: 'manual ban', by: 'alice' }, async (o) => {
      chunks.push(o.length);
    });
    expect(chunks.sort((a, b) => a - b)).toEqual([500, BULK_BAN_CHUNK]);
    expect(out.map((o) => o.ip)).toEqual(ips);
    expect(out.every((o) => statusOf(o) === 'created')).toBe(true);
    const first = out[0]!;
    if ('trusted' in first) throw new Error('unexpected');
    // the same record a single manual ban writes
    const single = await store.ban('sshd', '2001:db8:8::1', { bantime: 60, origin: 'cli', reason: 'manual ban', by: 'alice' });
    expect(first.result.ban).toEqual({ ...single.ban, ip: ips[0] });
    expect(await store.getBan('sshd', ips[ips.length - 1]!)).toMatchObject({ until: t0 + 60_000, banCount: 1, origin: 'cli', by: 'alice' });
    const st = await store.status('sshd');
    expect(st.currentlyBanned).toBe(ips.length + 1);
    expect(st.totalBanned).toBe(ips.length + 1);
    expect((await store.activeBans('sshd')).length).toBe(ips.length + 1);
    // one audit entry per ban, with increasing ids, written right behind the bans
    expect(await store.settleBulkBans()).toBe(0);
    expect(await store.history('sshd', ips[ips.length - 1]!)).toMatchObject({ banCount: 1, lastBanAt: t0 });
    const audit = (await redis.xrange(`${prefix}audit`, '-', '+')) as [string, string[]][];
    expect(audit.length).toBe(ips.length + 1);
    expect(audit.filter(([, f]) => f[1] === 'ban').length).toBe(ips.length + 1);
    expect(new Set(audit.map(([id]) => id)).size).toBe(audit.length);
  });

  it('writes the records and audit entries a single ban writes, and reports the records it stored', async () => {
    const { store, prefix } = setup();
    const [a, b, c, d] = addresses(4) as [string, string, string, string];
    const opts = { bantime: 60, origin: 'cli' as const, reason: 'manual "ban"\n', by: 'bob', matches: ['line "1"'] };
    const single = await store.ban('sshd', a, opts);
    await store.ban('sshd', c, { ...opts, bantime: 10 });
    await store.ban('sshd', d, { ...opts, bantime: 10 });
    const bulk = await store.banMany('sshd', [b, c], opts);
    const [created, extended] = bulk.map((o) => ('result' in o ? o.result : null));
    expect(created?.status).toBe('created');
    expect(created?.ban).toEqual({ ...single.ban, ip: b });
    expect(await store.getBan('sshd', b)).toEqual(created?.ban);
    expect(extended?.status).toBe('extended');
    expect(await store.getBan('sshd', c)).toEqual(extended?.ban);
    const singleExtend = await store.ban('sshd', d, opts);
    expect(singleExtend.status).toBe('extended');
    await store.settleBulkBans();
    const entries = ((await redis.xrange(`${prefix}audit`, '-', '+')) as [string, string[]][]).map(([, f]) => ({
      kind: f[1],
      ip: f[5],
      e: JSON.parse(f[7]!) as Record<string, unknown>,
    }));
    const entryOf = (kind: string, ip: string) => entries.find((x) => x.kind === kind && x.ip === ip)!.e;
    expect(entryOf('ban', b)).toEqual({ ...entryOf('ban', a), ip: b });
    expect(entryOf('extend', c)).toEqual({ ...entryOf('extend', d), ip: c });
    expect(entryOf('ban', b)).toMatchObject({ kind: 'ban', jail: 'sshd', origin: 'cli', by: 'bob', decidedBy: 'h1', banCount: 1, reason: 'manual "ban"\n', matches: ['line "1"'] });
  });

  it('lists what enforcement needs of running bans (activeBanEnds) as activeBans lists them', async () => {
    const { store, clock } = setup();
    const [a, b, c] = addresses(3) as [string, string, string];
    await store.banMany('sshd', [a, b], { bantime: 60, origin: 'cli', reason: 'x' });
    await store.ban('sshd', c, { bantime: -1, origin: 'cli', reason: 'x' });
    await store.ban('web', a, { bantime: 5, origin: 'cli', reason: 'x' });
    clock.advance(5_000);
    const ends = (await store.activeBanEnds()).map((e) => `${e.jail} ${e.ip} ${String(e.until)}`).sort();
    expect(ends).toEqual([`sshd ${a} ${clock.now() + 55_000}`, `sshd ${b} ${clock.now() + 55_000}`, `sshd ${c} null`].sort());
    expect(ends).toEqual((await store.activeBans()).map((r) => `${r.jail} ${r.ip} ${String(r.until)}`).sort());
    expect((await store.activeBanEnds('web')).length).toBe(0);
  });

  it('leaves longer bans alone, extends shorter ones, and clears failures of new ones', async () => {
    const { store, clock } = setup();
    const [a, b, c] = addresses(3) as [string, string, string];
    await store.ban('sshd', a, { bantime: 3600, origin: 'cli', reason: 'long' });
    await store.ban('sshd', b, { bantime: 10, origin: 'cli', reason: 'short' });
    await store.recordFailure({ eventId: randomUUID(), jail: 'sshd', ip: c, at: clock.now(), maxretry: 3, findtime: 600, bantime: 60, origin: 'log', host: 'h1' });
    expect((await store.status('sshd')).failedIps).toEqual([c]);
    const out = await store.banMany('sshd', [a, b, c, c], { bantime: 60, origin: 'cli', reason: 'again' });
    expect(out.map(statusOf)).toEqual(['unchanged', 'extended', 'created', 'unchanged']);
    expect((await store.getBan('sshd', a))?.until).toBe(clock.now() + 3600_000);
    expect((await store.getBan('sshd', b))).toMatchObject({ until: clock.now() + 60_000, bantime: 60, reason: 'short', banCount: 1 });
    expect((await store.status('sshd')).failedIps).toEqual([]);
    expect((await store.status('sshd')).totalBanned).toBe(3);
  });

  it('escalates repeat offenders one by one and gives first offenders the first ban time', async () => {
    const { store } = setup();
    const escalation: Escalation = { increment: true, overallJails: false, banTimeFor: (prev) => 60 * 2 ** prev };
    const [old, fresh] = addresses(2) as [string, string];
    await store.ban('sshd', old, { bantime: 60, origin: 'cli', reason: 'first' });
    await store.unban('sshd', old, { origin: 'cli' });
    const out = await store.banMany('sshd', [old, fresh], { bantime: 60, origin: 'cli', reason: 'again', escalation });
    expect(out.map(statusOf)).toEqual(['created', 'created']);
    const byIp = new Map(out.map((x) => [x.ip, 'result' in x ? x.result.ban : null]));
    expect(byIp.get(old)).toMatchObject({ bantime: 120, banCount: 2 });
    expect(byIp.get(fresh)).toMatchObject({ bantime: 60, banCount: 1 });
  });

  it('counts bulk bans in the offence history that later bans escalate from', async () => {
    const { store } = setup();
    const escalation: Escalation = { increment: true, overallJails: false, banTimeFor: (prev) => 60 * 2 ** prev };
    const [x] = addresses(1) as [string];
    await store.banMany('sshd', [x], { bantime: 60, origin: 'cli', reason: 'first', escalation });
    await store.unban('sshd', x, { origin: 'cli' });
    const [again] = await store.banMany('sshd', [x], { bantime: 60, origin: 'cli', reason: 'again', escalation });
    expect(again && 'result' in again ? again.result.ban : null).toMatchObject({ bantime: 120, banCount: 2 });
    expect((await store.history('sshd', x)).banCount).toBe(2);
  });

  it('leaves nothing unwritten when the banner stops between deciding and writing the audit: any banner completes it, once', async () => {
    const { store, prefix, clock } = setup();
    const ips = addresses(3);
    // what bulkBan sends, without the write behind it (as if its banner had died right after)
    const record = { jail: 'sshd', at: clock.now(), until: clock.now() + 60_000, bantime: 60, origin: 'cli', reason: 'r', failures: 0 };
    const head = (o: object): string => JSON.stringify(o).slice(0, -1);
    await redis.sadd(`${prefix}jails`, 'sshd');
    const reply = (await runScript(
      redis,
      bulkBanScript,
      [`${prefix}{sshd}:bans`, `${prefix}{sshd}:due`, `${prefix}{sshd}:stats`, `${prefix}{sshd}:failing`, `${prefix}trusted:v`, `${prefix}bulk-ban:pending`],
      [String(clock.now()), String(clock.now() + 60_000), '86400000', '0', '0', prefix, 'sshd', '-1', head(record), head({ ...record, kind: 'ban', decidedBy: 'h0' }), head({ ...record, kind: 'extend', decidedBy: 'h0' }), ...ips],
    )) as unknown[];
    expect(reply).toEqual(['c', 1, 'c', 1, 'c', 1, 1]);
    expect(await store.getBan('sshd', ips[0]!)).toMatchObject({ banCount: 1, reason: 'r' });
    expect(await redis.xlen(`${prefix}audit`)).toBe(0);
    const other = createBanStore(redis, { clock, keyPrefix: prefix, host: 'h2' });
    const [n1, n2] = await Promise.all([other.settleBulkBans(), store.settleBulkBans()]);
    expect(n1 + n2).toBe(3);
    expect(await redis.xlen(`${prefix}audit`)).toBe(3);
    expect(await store.history('sshd', ips[2]!)).toMatchObject({ banCount: 1, lastBanAt: clock.now() });
    const entry = JSON.parse(((await redis.xrange(`${prefix}audit`, '-', '+')) as [string, string[]][])[0]![1][7]!) as Record<string, unknown>;
    expect(entry).toMatchObject({ kind: 'ban', ip: ips[0], banCount: 1, decidedBy: 'h0', origin: 'cli' });
  });

  it('refuses fleet-wide trusted addresses and reloads an outdated trust list before deciding', async () => {
    let version = 0;
    let refreshes = 0;
    const trusted = new Set<string>();
    const [a, b] = addresses(2) as [string, string];
    const gate: TrustGate = {
      version: () => version,
      refresh: async () => {
        refreshes++;
        version = 1;
        trusted.add(b);
      },
      isTrusted: (ip) => trusted.has(ip),
    };
    const { store, prefix } = setup({ trustGate: gate });
    // another banner trusted b: the list in Redis is newer than ours
    await redis.set(`${prefix}trusted:v`, '1');
    const out = await store.banMany('sshd', [a, b], { bantime: 60, origin: 'cli', reason: 'x' });
    expect(refreshes).toBe(1);
    expect(out.map((o) => [o.ip, statusOf(o)])).toEqual([
      [b, 'trusted'],
      [a, 'created'],
    ]);
    expect(await store.getBan('sshd', b)).toBeNull();
  });
});
