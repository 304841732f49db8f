import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connectBus,
  connectRedis,
  consumeDurable,
  createLogger,
  ensureStreams,
  loadConfig,
  publishDurable,
  subjectFor,
  SUBJECTS,
  systemClock,
  CONTRACTS,
  type Bus,
  type Redis,
} from '@portcullis/shared';
import { startTestNats, startTestRedis, type TestServer } from '../../../tests/harness/index.js';
import { partitionOf, startMatcher, type MatcherService } from '../src/index.js';

/**
 * Two matcher instances against a real nats-server and redis-server: a source's lines are split
 * over batches that either instance may take, and multi-line state (an <F-MLFID> session, a
 * maxlines buffer) must still carry from one batch to the next.
 */
const quiet = new Writable({ write: (_c, _e, cb) => cb() });
const log = createLogger({ service: 'matcher-test', destination: quiet });
let nats: TestServer;
let redisServer: TestServer;
let dir: string;
const buses: Bus[] = [];
const redises: Redis[] = [];

beforeAll(async () => {
  [nats, redisServer] = await Promise.all([startTestNats(), startTestRedis({ appendonly: false })]);
  dir = mkdtempSync(path.join(tmpdir(), 'pct-matcher-'));
  mkdirSync(path.join(dir, 'filter.d'));
  // A session filter: "conn N: client ADDR" names the client (no failure), a later
  // "conn N: auth failed for USER" of the same connection is the failure of that client.
  writeFileSync(
    path.join(dir, 'filter.d', 'sess.conf'),
    ['[Definition]', 'prefregex = ^<F-MLFID>conn \\d+:</F-MLFID> <F-CONTENT>.+</F-CONTENT>$', 'failregex = ^<F-NOFAIL>client <HOST></F-NOFAIL>$', '            ^auth failed for <F-USER>\\S+</F-USER>$', 'datepattern = {NONE}', ''].join('\n'),
  );
  // A two-line filter: the user on one line, the address on the next.
  writeFileSync(path.join(dir, 'filter.d', 'two.conf'), ['[Definition]', 'failregex = ^denied <F-USER>\\S+</F-USER>\\n^peer <HOST>$', 'maxlines = 2', 'datepattern = {NONE}', ''].join('\n'));
  writeFileSync(
    path.join(dir, 'jail.local'),
    ['[sess]', 'enabled = true', 'filter = sess', 'logpath = /var/log/sess.log', '', '[two]', 'enabled = true', 'filter = two', 'logpath = /var/log/two.log', ''].join('\n'),
  );
});

afterAll(async () => {
  for (const b of buses) await b.close();
  for (const r of redises) r.disconnect();
  await nats?.dispose();
  await redisServer?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const handledBy = new Map<string, string>();

async function instance(name: string): Promise<MatcherService> {
  const bus = await connectBus({ url: nats.url, name, log });
  buses.push(bus);
  await ensureStreams(bus);
  const redis = await connectRedis(redisServer.url, log);
  redises.push(redis);
  const config = loadConfig(dir, { hostName: 'test' });
  return startMatcher({ config, bus, log, clock: systemClock, stateDir: dir }, { redis, partitions: 4, onBatch: (b) => handledBy.set(b.id, name) });
}

async function until(cond: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
}

describe('two matcher instances share the partitions and the multi-line state', () => {
  it('a session opened in one batch and failed in the next yields the failure of the session client, for every source', async () => {
    const a = await instance('matcher-a');
    const b = await instance('matcher-b');
    const events: { jail: string; host: string; ip: string; user?: string }[] = [];
    // what the matcher publishes, read through the contract (it encodes without the schema's pass)
    const consumer = await consumeDurable(buses[0] as Bus, {
      stream: 'failureBatches',
      durable: 'partition-test',
      contract: CONTRACTS.failureBatch,
      spanName: 'test.failure',
      handler: async (b) => {
        for (const f of b.failures) events.push({ jail: b.jail, host: b.host, ip: f.ip, ...(f.user !== undefined ? { user: f.user } : {}) });
      },
    });
    const pub = buses[0] as Bus;
    const hosts = Array.from({ length: 12 }, (_, i) => `h${i}`);
    // The hosts spread over the 4 partitions (else the test would not exercise both instances).
    expect(new Set(hosts.map((h) => partitionOf(h, 4))).size).toBe(4);
    const batch = (host: string, id: string, jails: string[], lines: string[]) => ({
      v: 1 as const,
      id,
      host,
      source: 'file',
      origin: '/var/log/app.log',
      jails,
      lines: lines.map((text) => ({ text, readAt: Date.now() })),
    });
    for (const [i, host] of hosts.entries()) {
      await publishDurable(pub, CONTRACTS.logBatch, subjectFor(SUBJECTS.logLines, host), batch(host, `${host}-1`, ['sess', 'two'], [`conn ${i}: client 192.0.2.${i + 1}`, 'denied bob']));
    }
    await until(() => a.stats.batches + b.stats.batches >= hosts.length, 30_000);
    // Both instances took first batches (they share the partitions).
    expect(a.stats.batches).toBeGreaterThan(0);
    expect(b.stats.batches).toBeGreaterThan(0);
    expect(events).toEqual([]);
    // Instance a goes away: b takes every second batch, also of sources whose first batch a had.
    await a.stop();
    for (const [i, host] of hosts.entries()) {
      await publishDurable(pub, CONTRACTS.logBatch, subjectFor(SUBJECTS.logLines, host), batch(host, `${host}-2`, ['sess', 'two'], [`peer 198.51.100.${i + 1}`, `conn ${i}: auth failed for user${i}`]));
    }
    await until(() => events.length >= 2 * hosts.length, 30_000);
    await new Promise((r) => setTimeout(r, 300));
    await consumer.stop();
    await b.stop();

    const sess = events.filter((e) => e.jail === 'sess').map((e) => `${e.host} ${e.ip} ${e.user}`).sort();
    expect(sess).toEqual(hosts.map((h, i) => `${h} 192.0.2.${i + 1} user${i}`).sort());
    const two = events.filter((e) => e.jail === 'two').map((e) => `${e.host} ${e.ip} ${e.user}`).sort();
    expect(two).toEqual(hosts.map((h, i) => `${h} 198.51.100.${i + 1} bob`).sort());
    // For the sources whose first batch ran on a, the session and the line buffer came through Redis.
    const crossed = hosts.filter((h) => handledBy.get(`${h}-1`) === 'matcher-a');
    expect(crossed.length).toBe(a.stats.batches);
    expect(hosts.every((h) => handledBy.get(`${h}-2`) === 'matcher-b')).toBe(true);
    expect(buses[0]!.rejects.total()).toBe(0);
  });
});
