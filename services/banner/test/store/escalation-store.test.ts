import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '@portcullis/shared';
import { createEscalationPolicy } from '../../src/escalation/index.js';
import { createBanStore, type BanStore, type FailureInput } from '../../src/store/index.js';
import { startTestRedis, type TestServer } from '../../../../tests/harness/index.js';
import { jailConfig } from '../escalation/jail-fixture.js';

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

const escalating = (name: string, extra: Record<string, string> = {}) => createEscalationPolicy(jailConfig(name, { 'bantime.increment': 'true', ...extra }));

function failure(clock: ManualClock, over: Partial<FailureInput> = {}): FailureInput {
  return {
    eventId: randomUUID(),
    jail: 'sshd',
    ip: '192.0.2.10',
    at: clock.now(),
    maxretry: 3,
    findtime: 600,
    bantime: 600,
    origin: 'log',
    host: 'web1',
    ...over,
  };
}

async function banOnce(store: BanStore, clock: ManualClock, over: Partial<FailureInput>) {
  let ban = null;
  for (let i = 0; i < (over.maxretry ?? 3); i++) ban = (await store.recordFailure(failure(clock, over))).ban ?? ban;
  return ban;
}

function setup(opts: { random?: () => number } = {}) {
  const clock = new ManualClock(Date.now());
  const prefix = `t-${randomUUID().slice(0, 8)}:`;
  const make = () => createBanStore(client(), { clock, keyPrefix: prefix, host: 'banner-a', ...opts });
  return { clock, prefix, make, store: make() };
}

describe('ban store: escalation', () => {
  it('doubles the log ban time per previous ban (fail2ban default formula), across expiry', async () => {
    const { store, clock } = setup();
    const escalation = escalating('sshd');
    const seen: [number, number, number | null][] = [];
    for (let round = 0; round < 4; round++) {
      const ban = await banOnce(store, clock, { escalation });
      expect(ban).not.toBeNull();
      seen.push([ban!.bantime, ban!.banCount, ban!.until === null ? null : ban!.until - ban!.at]);
      clock.advance(ban!.bantime * 1000);
      expect((await store.expireDue(clock.now())).map((b) => b.ip)).toEqual(['192.0.2.10']);
    }
    expect(seen).toEqual([
      [600, 1, 600_000],
      [1200, 2, 1_200_000],
      [2400, 3, 2_400_000],
      [4800, 4, 4_800_000],
    ]);
  });

  it('concurrent deciders in one jail decide one ban with the time for the count they all see', async () => {
    const { make, clock } = setup();
    const stores = [make(), make(), make(), make()];
    await stores[0]!.ban('sshd', '192.0.2.10', { bantime: 60, origin: 'cli', reason: 'earlier' });
    await stores[0]!.unban('sshd', '192.0.2.10', { origin: 'cli' });
    const escalation = escalating('sshd', { 'bantime.rndtime': '100' });
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => stores[i % 4]!.recordFailure(failure(clock, { maxretry: 5, escalation }))),
    );
    const bans = results.flatMap((r) => (r.ban ? [r.ban] : []));
    expect(bans).toHaveLength(1);
    // one previous ban: 600 * 2, plus random() * 100 from Math.random
    expect(bans[0]!.bantime).toBeGreaterThanOrEqual(1200);
    expect(bans[0]!.bantime).toBeLessThanOrEqual(1300);
    expect(bans[0]!.banCount).toBe(2);
    expect(results.every((r) => r.counted)).toBe(true);
  });

  it('with overalljails, concurrent bans in four jails each see a different previous count', async () => {
    const { make, clock } = setup();
    const ip = '203.0.113.7';
    const jails = ['sshd', 'nginx', 'postfix', 'dovecot'];
    const stores = jails.map(() => make());
    await stores[0]!.ban('sshd', ip, { bantime: 60, origin: 'api', reason: 'earlier' });
    await stores[0]!.unban('sshd', ip, { origin: 'api' });
    const bans = await Promise.all(
      jails.map(async (jail, i) => {
        const escalation = escalating(jail, { 'bantime.overalljails': 'true' });
        const rs = await Promise.all([0, 1, 2].map(() => stores[i]!.recordFailure(failure(clock, { jail, ip, escalation }))));
        return rs.flatMap((r) => (r.ban ? [r.ban] : []));
      }),
    );
    expect(bans.map((b) => b.length)).toEqual([1, 1, 1, 1]);
    // previous bans over all jails were 1, 2, 3 and 4 in some order: 600 * 2^n, never two alike
    expect(bans.flat().map((b) => b.bantime).sort((a, b) => a - b)).toEqual([1200, 2400, 4800, 9600]);
    expect(await stores[0]!.banCount(ip)).toBe(5);
  });

  it('counts only this jail without overalljails, all jails with it', async () => {
    const { store, clock } = setup();
    const ip = '198.51.100.20';
    await store.ban('nginx', ip, { bantime: 60, origin: 'api', reason: 'r' });
    await store.ban('postfix', ip, { bantime: 60, origin: 'api', reason: 'r' });
    const local = await banOnce(store, clock, { ip, escalation: escalating('sshd') });
    expect(local?.bantime).toBe(600);
    const ip2 = '198.51.100.21';
    await store.ban('nginx', ip2, { bantime: 60, origin: 'api', reason: 'r' });
    await store.ban('postfix', ip2, { bantime: 60, origin: 'api', reason: 'r' });
    const overall = await banOnce(store, clock, { ip: ip2, escalation: escalating('sshd', { 'bantime.overalljails': 'true' }) });
    expect(overall?.bantime).toBe(2400);
  });

  it('escalates a manual ban given the policy, and applies bantime.rndtime with the store random source', async () => {
    const { store } = setup({ random: () => 0.5 });
    const ip = '192.0.2.55';
    const escalation = escalating('sshd', { 'bantime.rndtime': '60', 'bantime.maxtime': '2000' });
    const first = await store.ban('sshd', ip, { bantime: 600, origin: 'cli', reason: 'r', escalation });
    expect(first.ban.bantime).toBe(600);
    await store.unban('sshd', ip, { origin: 'cli' });
    const second = await store.ban('sshd', ip, { bantime: 600, origin: 'cli', reason: 'r', escalation });
    expect(second.ban.bantime).toBe(1200 + 30);
    await store.unban('sshd', ip, { origin: 'cli' });
    const third = await store.ban('sshd', ip, { bantime: 600, origin: 'cli', reason: 'r', escalation });
    expect(third.ban.bantime).toBe(2000 + 30);
    // an explicit ban time without the policy is kept as given
    await store.unban('sshd', ip, { origin: 'cli' });
    expect((await store.ban('sshd', ip, { bantime: 90, origin: 'cli', reason: 'r' })).ban.bantime).toBe(90);
  });

  it("counts a known offender's failure several times, as fail2ban's testObserver shows", async () => {
    // fail2ban tests/databasetestcase testObserver: bantime 10, maxretry 3, an address banned 4 times
    // before: one failure bans it (min(2^4/2 + 1, 3) = 3 failures), for 10 * 2^4 = 160 s, ban count 5
    const { store, clock } = setup();
    const ip = '192.0.2.1';
    for (let i = 0; i < 4; i++) {
      await store.ban('sshd', ip, { bantime: 10, origin: 'cli', reason: 'earlier' });
      await store.unban('sshd', ip, { origin: 'cli' });
    }
    clock.advance(1000);
    const escalation = createEscalationPolicy(jailConfig('sshd', { 'bantime.increment': 'true' }, { bantime: 10 }));
    const r = await store.recordFailure(failure(clock, { ip, bantime: 10, escalation }));
    expect(r.failures).toBe(3);
    expect(r.ban).toMatchObject({ bantime: 160, banCount: 5, failures: 3 });

    // one previous ban: each failure counts 2 (2^1/2 + 1); a failure logged before that ban counts 1
    const ip2 = '192.0.2.2';
    await store.ban('sshd', ip2, { bantime: 10, origin: 'cli', reason: 'earlier' });
    await store.unban('sshd', ip2, { origin: 'cli' });
    const old = await store.recordFailure(failure(clock, { ip: ip2, at: clock.now() - 5000, maxretry: 5, escalation }));
    clock.advance(1000);
    const fresh = await store.recordFailure(failure(clock, { ip: ip2, maxretry: 5, escalation }));
    expect([old.failures, fresh.failures]).toEqual([1, 3]);
    // without bantime.increment every failure counts once
    const ip3 = '192.0.2.3';
    await store.ban('sshd', ip3, { bantime: 10, origin: 'cli', reason: 'earlier' });
    await store.unban('sshd', ip3, { origin: 'cli' });
    clock.advance(1000);
    expect((await store.recordFailure(failure(clock, { ip: ip3, maxretry: 5, escalation: createEscalationPolicy(jailConfig('sshd')) }))).failures).toBe(1);
  });

  it('keeps offence history for the jail-specific lifetime', async () => {
    const clock = new ManualClock(Date.now());
    const prefix = `t-${randomUUID().slice(0, 8)}:`;
    const redis = client();
    const store = createBanStore(redis, { clock, keyPrefix: prefix, historyTtlByJail: new Map([['recidive', 90 * 86400]]) });
    await store.ban('recidive', '192.0.2.1', { bantime: 60, origin: 'cli', reason: 'r' });
    await store.ban('sshd', '192.0.2.1', { bantime: 60, origin: 'cli', reason: 'r' });
    const long = await redis.pttl(`${prefix}{recidive}:off:192.0.2.1`);
    const normal = await redis.pttl(`${prefix}{sshd}:off:192.0.2.1`);
    expect(long).toBeGreaterThan(89 * 86400_000);
    expect(normal).toBeLessThanOrEqual(30 * 86400_000);
    expect(normal).toBeGreaterThan(29 * 86400_000);
  });
});

describe('ban store: recidive', () => {
  const target = { jail: 'recidive', maxretry: 3, findtime: 86400, bantime: 604800 };

  it('bans on the maxretry-th ban of an address in other jails within findtime', async () => {
    const { store, clock } = setup();
    const ip = '203.0.113.66';
    const decided = [];
    for (const jail of ['sshd', 'nginx', 'postfix']) {
      const ban = await banOnce(store, clock, { jail, ip });
      expect(ban).not.toBeNull();
      decided.push(await store.feedRecidive(ban!, target));
      // the same ban fed again (a retry) counts once
      expect((await store.feedRecidive(ban!, target)).counted).toBe(false);
      clock.advance(3600_000);
    }
    expect(decided.map((r) => [r.counted, r.failures, r.ban !== null])).toEqual([
      [true, 1, false],
      [true, 2, false],
      [true, 3, true],
    ]);
    const rec = decided[2]!.ban!;
    expect(rec).toMatchObject({ jail: 'recidive', ip, bantime: 604800, origin: 'log', failures: 3 });
    expect(rec.matches).toEqual([`[sshd] Ban ${ip}`, `[nginx] Ban ${ip}`, `[postfix] Ban ${ip}`]);
    expect(rec.until).toBe(rec.at + 604800_000);
    // its own bans are not fed back
    expect((await store.feedRecidive(rec, target)).counted).toBe(false);
  });

  it('forgets bans older than its findtime', async () => {
    const { store, clock } = setup();
    const ip = '203.0.113.67';
    for (const jail of ['sshd', 'nginx']) {
      const ban = await banOnce(store, clock, { jail, ip });
      await store.feedRecidive(ban!, target);
    }
    clock.advance(86401_000);
    const third = await banOnce(store, clock, { jail: 'postfix', ip });
    const r = await store.feedRecidive(third!, target);
    expect([r.failures, r.ban]).toEqual([1, null]);
  });

  it('escalates the recidive ban too', async () => {
    const { store, clock } = setup();
    const ip = '203.0.113.68';
    await store.ban('recidive', ip, { bantime: 60, origin: 'cli', reason: 'earlier' });
    await store.unban('recidive', ip, { origin: 'cli' });
    const escalation = createEscalationPolicy(jailConfig('recidive', { 'bantime.increment': 'true' }, { bantime: 604800 }));
    let last = null;
    for (const jail of ['sshd', 'nginx', 'postfix']) last = await store.feedRecidive((await banOnce(store, clock, { jail, ip }))!, { ...target, escalation });
    expect(last?.ban?.bantime).toBe(2 * 604800);
  });
});
