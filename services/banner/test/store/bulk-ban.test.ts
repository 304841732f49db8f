import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '@portcullis/shared';
import { createBanStore, type BanStore, type BulkBanOutcome, type Escalation, type TrustGate } from '../../src/store/index.js';
import { BULK_BAN_CHUNK } from '../../src/store/bulk-ban.js';
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
    // one audit entry per ban, with increasing ids
    const audit = (await redis.xrange(`${prefix}audit`, '-', '+')) as [string, string[]][];
    expect(audit.length).toBe(ips.length + 1);
    expect(audit.filter(([, f]) => f[1] === 'ban').length).toBe(ips.length + 1);
    expect(new Set(audit.map(([id]) => id)).size).toBe(audit.length);
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
