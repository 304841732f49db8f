import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPortcullisError, ManualClock } from '@portcullis/shared';
import { createAuditLog } from '../../src/audit/index.js';
import { createBanStore, readTrusted, globalKeys, type FailureInput, type TrustGate } from '../../src/store/index.js';
import { createDynamicTrust, createTrustList, trustNetwork, type DynamicTrust } from '../../src/trust/index.js';
import { startTestRedis, type TestServer } from '../../../../tests/harness/index.js';

let server: TestServer;
const clients: Redis[] = [];
const stops: (() => Promise<void> | void)[] = [];

function client(): Redis {
  const r = new Redis(server.url, { maxRetriesPerRequest: null });
  clients.push(r);
  return r;
}

beforeAll(async () => {
  server = await startTestRedis();
});

afterAll(async () => {
  for (const s of stops) await s();
  for (const c of clients) c.disconnect();
  await server?.dispose();
});

function setup() {
  const clock = new ManualClock(Date.now());
  const prefix = `t-${randomUUID().slice(0, 8)}:`;
  return { clock, prefix, store: createBanStore(client(), { clock, keyPrefix: prefix, host: 'banner-a' }) };
}

function failure(clock: ManualClock, over: Partial<FailureInput> = {}): FailureInput {
  return { eventId: randomUUID(), jail: 'sshd', ip: '192.0.2.10', at: clock.now(), maxretry: 3, findtime: 600, bantime: 600, origin: 'log', host: 'web1', ...over };
}

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('trusted entries: canonical form', () => {
  it('canonicalises addresses and ranges, IPv4 as mapped groups for the matcher', () => {
    expect(trustNetwork('203.0.113.77/24')).toEqual({ entry: '203.0.113.0/24', prefix: 120, groups: [0, 0, 0, 0, 0, 0xffff, 0xcb00, 0x7100] });
    expect(trustNetwork('2001:DB8:0:0:1::/32')).toMatchObject({ entry: '2001:db8::/32', prefix: 32 });
    expect(trustNetwork('::ffff:192.0.2.9')).toMatchObject({ entry: '192.0.2.9', prefix: 128 });
    expect(() => trustNetwork('192.0.2.0/33')).toThrow(/not a valid/);
    expect(() => trustNetwork('203.0.113.1; rm -rf /')).toThrow(/not a valid/);
  });
});

describe('trustAndUnban', () => {
  it('removes every matching ban in every jail and the failures of matching addresses, atomically audited', async () => {
    const { store, clock, prefix } = setup();
    for (const [jail, ip] of [
      ['sshd', '203.0.113.5'],
      ['nginx', '203.0.113.5'],
      ['nginx', '203.0.113.200'],
      ['sshd', '198.51.100.1'],
      ['sshd', '2001:db8::7'],
    ] as const) {
      await store.ban(jail, ip, { bantime: 600, origin: 'cli', reason: 'r' });
    }
    await store.recordFailure(failure(clock, { ip: '203.0.113.9' }));
    await store.recordFailure(failure(clock, { ip: '198.51.100.2' }));

    const res = await store.trustAndUnban('203.0.113.99/24', { origin: 'cli', by: 'alice' });
    expect(res.entry).toBe('203.0.113.0/24');
    expect(res.version).toBe(1);
    expect(res.removed.map((r) => `${r.jail}/${r.ip}`).sort()).toEqual(['nginx/203.0.113.200', 'nginx/203.0.113.5', 'sshd/203.0.113.5']);
    expect((await store.activeBans()).map((r) => r.ip).sort()).toEqual(['198.51.100.1', '2001:db8::7']);
    expect((await store.status('sshd')).failedIps).toEqual(['198.51.100.2']);
    expect(await store.history('nginx', '203.0.113.5')).toMatchObject({ banCount: 1, lastUnban: { origin: 'cli', by: 'alice' } });
    expect((await store.trusted()).entries).toEqual([{ entry: '203.0.113.0/24', at: clock.now(), origin: 'cli', by: 'alice' }]);

    const audit = await createAuditLog(client(), { keyPrefix: prefix }).query({ ip: '203.0.113.5' });
    expect(audit.map((e) => [e.kind, e.jail, e.reason, e.by])).toEqual([
      ['unban', expect.any(String), 'moved to trusted', 'alice'],
      ['unban', expect.any(String), 'moved to trusted', 'alice'],
      ['trust', '*', 'moved to trusted', 'alice'],
      ['ban', expect.any(String), 'r', undefined],
      ['ban', expect.any(String), 'r', undefined],
    ]);

    const v6 = await store.trustAndUnban('2001:db8::/32', { origin: 'api' });
    expect(v6.removed.map((r) => r.ip)).toEqual(['2001:db8::7']);
    // an IPv6 range written over mapped addresses covers IPv4 addresses, as in ignoreip
    const mapped = await store.trustAndUnban('::ffff:198.51.100.0/120', { origin: 'api' });
    expect(mapped.removed.map((r) => r.ip)).toEqual(['198.51.100.1']);
    expect(await store.activeBans()).toEqual([]);
    expect((await store.untrust('2001:db8::1/32', { origin: 'api' })).removed).toBe(true);
    expect((await store.trusted()).entries.map((e) => e.entry).sort()).toEqual(['203.0.113.0/24', '::ffff:c633:6400/120']);
  });
});

describe('fleet-wide dynamic trust', () => {
  async function dynamic(prefix: string, pollMs = 60_000): Promise<DynamicTrust> {
    const d = await createDynamicTrust(client(), { keyPrefix: prefix, pollMs });
    stops.push(() => d.stop());
    return d;
  }

  it('learns trust changes by pub/sub and feeds the trust list', async () => {
    const { store, clock, prefix } = setup();
    const d = await dynamic(prefix);
    const list = await createTrustList(['10.0.0.0/8'], { ignoreself: false, clock, dynamic: d });
    stops.push(() => list.stop());
    expect(list.isTrusted('198.51.100.7')).toBe(false);
    await store.trustAndUnban('198.51.100.7', { origin: 'cli' });
    // the poll is a minute away: only the notification can bring it in time
    await until(() => list.isTrusted('198.51.100.7'));
    expect(await list.check('198.51.100.7')).toEqual({ trusted: true, by: 'dynamic' });
    expect(await list.check('10.1.2.3')).toEqual({ trusted: true, by: 'ignoreip' });
    expect(d.version()).toBe(1);
    await store.untrust('198.51.100.7', { origin: 'cli' });
    await until(() => !list.isTrusted('198.51.100.7'));
  });

  it('falls back to polling the version when a notification is missed', async () => {
    const { prefix } = setup();
    const d = await dynamic(prefix, 100);
    const raw = client();
    const g = globalKeys(prefix);
    // a change written without its notification (as if the message was lost during a reconnect)
    await raw.multi().hset(g.trusted, '192.0.2.99', JSON.stringify({ at: 1, origin: 'api' })).incr(g.trustVersion).exec();
    await until(() => d.isTrusted('192.0.2.99'));
  });

  it('never decides a ban with an outdated trust list', async () => {
    const { store, clock, prefix } = setup();
    // a gate that only learns of changes when asked to refresh: the worst case of a lost notification
    let loaded = { version: 0, entries: [] as string[] };
    const redis = client();
    const gate: TrustGate = {
      version: () => loaded.version,
      isTrusted: (ip) => loaded.entries.includes(ip),
      refresh: async () => {
        const r = await readTrusted(redis, globalKeys(prefix));
        loaded = { version: r.version, entries: r.entries.map((e) => e.entry) };
      },
    };
    const gated = createBanStore(client(), { clock, keyPrefix: prefix, trustGate: gate });
    await store.trustAndUnban('192.0.2.10', { origin: 'cli' });
    const results = [];
    for (let i = 0; i < 3; i++) results.push(await gated.recordFailure(failure(clock)));
    expect(results[2]).toEqual({ counted: false, failures: 0, ban: null, trusted: true });
    expect(await gated.getBan('sshd', '192.0.2.10')).toBeNull();
    expect(loaded.version).toBe(1);
    const err = await gated.ban('sshd', '192.0.2.10', { bantime: 60, origin: 'cli', reason: 'r' }).catch((e: unknown) => e);
    expect(isPortcullisError(err, 'PC_TRUSTED_ADDRESS')).toBe(true);
    // an address the new list does not cover is banned as usual
    await store.trustAndUnban('192.0.2.200', { origin: 'cli' });
    let ban = null;
    for (let i = 0; i < 3; i++) ban = (await gated.recordFailure(failure(clock, { ip: '192.0.2.11' }))).ban ?? ban;
    expect(ban?.ip).toBe('192.0.2.11');
    expect(loaded.version).toBe(2);
  });
});
