import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '@portcullis/shared';
import { createAuditLog } from '../../src/audit/index.js';
import { createBanStore, type FailureInput } from '../../src/store/index.js';
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

function setup(auditMaxLen?: number) {
  const clock = new ManualClock(Date.UTC(2030, 0, 1));
  const prefix = `t-${randomUUID().slice(0, 8)}:`;
  const redis = client();
  const store = createBanStore(redis, { clock, keyPrefix: prefix, host: 'banner-a', ...(auditMaxLen ? { auditMaxLen } : {}) });
  return { clock, prefix, redis, store, audit: createAuditLog(client(), { keyPrefix: prefix }) };
}

function failure(clock: ManualClock, over: Partial<FailureInput> = {}): FailureInput {
  return { eventId: randomUUID(), jail: 'sshd', ip: '192.0.2.10', at: clock.now(), maxretry: 2, findtime: 600, bantime: 60, origin: 'log', host: 'web1', ...over };
}

describe('audit log', () => {
  it('records every ban and unban path with who, why and where', async () => {
    const { store, audit, clock } = setup();
    const t0 = clock.now();
    await store.recordFailure(failure(clock, { matches: ['Failed password for root from 192.0.2.10'] }));
    // Matches are kept in log-time order; failures in the same millisecond have no defined order.
    clock.advance(1);
    await store.recordFailure(failure(clock, { matches: ['Failed password for admin from 192.0.2.10'] }));
    clock.advance(999);
    await store.recordFailure(failure(clock, { ip: '192.0.2.11', origin: 'external', host: 'app1' }));
    await store.recordFailure(failure(clock, { ip: '192.0.2.11', origin: 'external', host: 'app1' }));
    clock.advance(1000);
    await store.ban('nginx', '198.51.100.1', { bantime: 60, origin: 'cli', reason: 'by hand', by: 'alice' });
    clock.advance(1000);
    await store.ban('nginx', '198.51.100.1', { bantime: 600, origin: 'api', reason: 'longer', by: 'ops-bot' });
    clock.advance(1000);
    await store.unban('nginx', '198.51.100.1', { origin: 'cli', by: 'bob' });
    await store.ban('flow', '203.0.113.9', { bantime: 1, origin: 'flowmon', reason: 'syn flood' });
    clock.advance(61_000);
    await store.expireDue(clock.now());

    const entries = await audit.query();
    expect(entries.map((e) => [e.kind, e.jail, e.ip, e.origin, e.reason])).toEqual([
      ['unban', 'sshd', '192.0.2.11', 'external', 'bantime expired'],
      ['unban', 'sshd', '192.0.2.10', 'log', 'bantime expired'],
      ['unban', 'flow', '203.0.113.9', 'flowmon', 'bantime expired'],
      ['ban', 'flow', '203.0.113.9', 'flowmon', 'syn flood'],
      ['unban', 'nginx', '198.51.100.1', 'cli', 'manual unban'],
      ['extend', 'nginx', '198.51.100.1', 'api', 'longer'],
      ['ban', 'nginx', '198.51.100.1', 'cli', 'by hand'],
      ['ban', 'sshd', '192.0.2.11', 'external', 'maxretry 2 reached within findtime 600s'],
      ['ban', 'sshd', '192.0.2.10', 'log', 'maxretry 2 reached within findtime 600s'],
    ]);
    const byKey = (kind: string, ip: string) => entries.find((e) => e.kind === kind && e.ip === ip)!;
    expect(byKey('ban', '192.0.2.10')).toEqual({
      id: expect.stringMatching(new RegExp(`^${t0 + 1}-\\d+$`)),
      kind: 'ban',
      jail: 'sshd',
      ip: '192.0.2.10',
      at: t0 + 1,
      origin: 'log',
      reason: 'maxretry 2 reached within findtime 600s',
      decidedBy: 'banner-a',
      seenOn: 'web1',
      until: t0 + 1 + 60_000,
      bantime: 60,
      banCount: 1,
      failures: 2,
      matches: ['Failed password for root from 192.0.2.10', 'Failed password for admin from 192.0.2.10'],
    });
    expect(byKey('ban', '198.51.100.1')).toMatchObject({ origin: 'cli', by: 'alice', reason: 'by hand', bantime: 60, matches: [] });
    expect(byKey('extend', '198.51.100.1')).toMatchObject({ origin: 'api', by: 'ops-bot', bantime: 600, banCount: 1 });
    expect(byKey('unban', '198.51.100.1')).toMatchObject({ origin: 'cli', by: 'bob', decidedBy: 'banner-a', at: t0 + 4000 });
    // newest first
    const ats = entries.map((e) => e.at);
    expect([...ats].sort((a, b) => b - a)).toEqual(ats);
    expect(entries).toHaveLength(9);
    expect(entries.filter((e) => e.kind === 'unban' && e.reason === 'bantime expired').map((e) => e.ip).sort()).toEqual(['192.0.2.10', '192.0.2.11', '203.0.113.9']);
  });

  it('filters by jail, ip, origin, kind and time, with a limit', async () => {
    const { store, audit, clock } = setup();
    const t0 = clock.now();
    for (let i = 1; i <= 5; i++) {
      await store.ban(i % 2 ? 'sshd' : 'nginx', `192.0.2.${i}`, { bantime: 60, origin: i === 3 ? 'api' : 'cli', reason: `r${i}` });
      clock.advance(1000);
    }
    await store.unban(null, '192.0.2.1', { origin: 'api' });
    expect((await audit.query({ jail: 'nginx' })).map((e) => e.ip)).toEqual(['192.0.2.4', '192.0.2.2']);
    expect((await audit.query({ ip: '192.0.2.1' })).map((e) => e.kind)).toEqual(['unban', 'ban']);
    expect((await audit.query({ ip: '::ffff:192.0.2.1', kind: 'ban' })).map((e) => e.reason)).toEqual(['r1']);
    expect((await audit.query({ origin: 'api' })).map((e) => `${e.kind} ${e.ip}`)).toEqual(['unban 192.0.2.1', 'ban 192.0.2.3']);
    expect((await audit.query({ since: t0 + 1000, until: t0 + 3000 })).map((e) => e.ip)).toEqual(['192.0.2.4', '192.0.2.3', '192.0.2.2']);
    expect((await audit.query({ limit: 2 })).map((e) => e.ip)).toEqual(['192.0.2.1', '192.0.2.5']);
    await expect(audit.query({ limit: 0 })).rejects.toThrow(/limit/);
  });

  it('pages through a long stream and accepts writers whose clock is behind', async () => {
    const { store, audit, clock, prefix, redis } = setup();
    const behind = new ManualClock(clock.now() - 600_000);
    const late = createBanStore(client(), { clock: behind, keyPrefix: prefix });
    for (let i = 0; i < 1200; i++) {
      await store.ban('sshd', `10.0.${i >> 8}.${i & 255}`, { bantime: 60, origin: 'cli', reason: 'bulk' });
      clock.advance(1);
    }
    const skewed = await late.ban('sshd', '198.51.100.99', { bantime: 60, origin: 'api', reason: 'late clock' });
    expect(skewed.status).toBe('created');
    expect(await redis.xlen(`${prefix}audit`)).toBe(1201);
    expect((await audit.query({ ip: '198.51.100.99' })).map((e) => e.at)).toEqual([behind.now()]);
    expect(await audit.query({ ip: '10.0.0.0', limit: 5 })).toHaveLength(1);
    expect(await audit.query({ limit: 10_000 })).toHaveLength(1201);
  });

  it('bounds the stream with MAXLEN ~', async () => {
    const { store, redis, prefix } = setup(10);
    for (let i = 0; i < 300; i++) await store.ban('sshd', `10.1.${i >> 8}.${i & 255}`, { bantime: 60, origin: 'cli', reason: 'bulk' });
    const len = await redis.xlen(`${prefix}audit`);
    // approximate trimming removes whole stream nodes (100 entries by default)
    expect(len).toBeGreaterThanOrEqual(10);
    expect(len).toBeLessThanOrEqual(110);
  });

  it('never misses a ban decided concurrently', async () => {
    const { audit, clock, prefix } = setup();
    const stores = [0, 1, 2, 3].map(() => createBanStore(client(), { clock, keyPrefix: prefix }));
    await Promise.all(
      Array.from({ length: 200 }, (_, i) => stores[i % 4]!.recordFailure(failure(clock, { ip: `198.51.100.${i % 50}` }))),
    );
    const status = await stores[0]!.status('sshd');
    const bans = await audit.query({ kind: 'ban', limit: 1000 });
    expect(status.totalBanned).toBe(50);
    expect(bans.map((e) => e.ip).sort()).toEqual((await stores[0]!.activeBans('sshd')).map((b) => b.ip).sort());
    expect(bans).toHaveLength(50);
  });
});
