import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  connectBus,
  consumeDurable,
  createLogger,
  CONTRACTS,
  ensureStreams,
  loadConfig,
  publishDurable,
  STREAMS,
  subjectFor,
  SUBJECTS,
  systemClock,
  type Bus,
  type Consumption,
  type FailureBatchV1,
  type LogBatchV1,
} from '@portcullis/shared';
import { startTestNats, type TestServer } from '../../../tests/harness/index.js';
import { startMatcher, type MatcherService } from '../src/index.js';

/**
 * The matcher as a service against a real nats-server: what it publishes for log batches is
 * FailureBatch messages (one per log batch and jail, split under the payload limit), valid for the
 * contract, with ids that make a re-processed log batch a duplicate JetStream drops.
 */
const quiet = new Writable({ write: (_c, _e, cb) => cb() });
const log = createLogger({ service: 'matcher-test', destination: quiet });
let nats: TestServer;
let dir: string;
let bus: Bus;
let matcher: MatcherService;
let consumer: Consumption;
const batches: FailureBatchV1[] = [];

beforeAll(async () => {
  nats = await startTestNats();
  dir = mkdtempSync(path.join(tmpdir(), 'pct-matcher-batches-'));
  mkdirSync(path.join(dir, 'filter.d'));
  writeFileSync(path.join(dir, 'filter.d', 'fails.conf'), ['[Definition]', 'failregex = ^fail <F-USER>\\S+</F-USER> from <HOST>(?: .*)?$', '            ^bad token <F-ID>\\S+</F-ID>$', 'datepattern = {NONE}', ''].join('\n'));
  writeFileSync(
    path.join(dir, 'jail.local'),
    ['[a]', 'enabled = true', 'filter = fails', 'logpath = /var/log/a.log', '', '[b]', 'enabled = true', 'filter = fails', 'logpath = /var/log/b.log', ''].join('\n'),
  );
  bus = await connectBus({ url: nats.url, name: 'matcher-batches-test', log });
  await ensureStreams(bus);
  const config = loadConfig(dir, { hostName: 'test' });
  matcher = await startMatcher({ config, bus, log, clock: systemClock, stateDir: dir }, { partitions: 2 });
  consumer = await consumeDurable(bus, {
    stream: 'failureBatches',
    durable: 'batches-test',
    contract: CONTRACTS.failureBatch,
    spanName: 'test.batch',
    handler: async (b) => {
      batches.push(b);
    },
  });
});

afterAll(async () => {
  await consumer?.stop();
  await matcher?.stop();
  await bus?.close();
  await nats?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const logBatch = (id: string, jails: string[], lines: string[]): LogBatchV1 => ({
  v: 1,
  id,
  host: 'web1',
  source: 'file',
  origin: '/var/log/app.log',
  jails,
  lines: lines.map((text) => ({ text, readAt: Date.now() })),
});

async function until(cond: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
}

const stored = async (): Promise<number> => (await bus.jsm.streams.info(STREAMS.failureBatches.name)).state.messages;

describe('matcher: failure batches', () => {
  it('publishes one batch per log batch and jail, and a log batch handled twice is stored once', async () => {
    const b = logBatch('chunk-1', ['a', 'b'], ['fail alice from 192.0.2.1', 'nothing here', 'fail bob from 2001:db8::5 port 22', 'bad token zzz']);
    await publishDurable(bus, CONTRACTS.logBatch, subjectFor(SUBJECTS.logLines, 'web1'), b, 'first');
    await until(() => batches.length >= 2, 20_000);
    expect(batches.map((x) => x.jail).sort()).toEqual(['a', 'b']);
    for (const x of batches) {
      expect(x).toMatchObject({ v: 1, host: 'web1', source: 'file', origin: '/var/log/app.log', producer: 'log' });
      // the failure id capture (not an address) is skipped; user and address are the failure's own fields
      expect(x.failures.map((f) => [f.ip, f.user, f.line, f.fields])).toEqual([
        ['192.0.2.1', 'alice', 'fail alice from 192.0.2.1', undefined],
        ['2001:db8::5', 'bob', 'fail bob from 2001:db8::5 port 22', undefined],
      ]);
    }
    const [a, c] = [batches.find((x) => x.jail === 'a')!, batches.find((x) => x.jail === 'b')!];
    // per failure ids differ per jail and are stable; the batch id derives from them
    expect(new Set([...a.failures, ...c.failures].map((f) => f.id)).size).toBe(4);
    expect(a.id).not.toBe(c.id);
    const before = await stored();
    // the same chunk again (a collector re-publishing after a crash, under another message id)
    await publishDurable(bus, CONTRACTS.logBatch, subjectFor(SUBJECTS.logLines, 'web1'), b, 'second');
    await until(() => matcher.stats.batches >= 2, 20_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(await stored()).toBe(before);
    expect(batches.length).toBe(2);
  });

  it('splits the failures of a large log batch into several messages under the payload limit', async () => {
    batches.length = 0;
    const lines = Array.from({ length: 5000 }, (_, i) => `fail user${i} from 198.51.100.${(i % 250) + 1} ${'x'.repeat(120)}`);
    await publishDurable(bus, CONTRACTS.logBatch, subjectFor(SUBJECTS.logLines, 'web1'), logBatch('chunk-big', ['a'], lines));
    await until(() => batches.reduce((n, x) => n + x.failures.length, 0) >= 5000, 30_000);
    expect(batches.length).toBeGreaterThan(1);
    expect(batches.flatMap((x) => x.failures.map((f) => f.user))).toEqual(lines.map((_, i) => `user${i}`));
    for (const x of batches) expect(Buffer.byteLength(JSON.stringify(x))).toBeLessThan(bus.nc.info!.max_payload);
    expect(bus.rejects.total()).toBe(0);
  });
});
