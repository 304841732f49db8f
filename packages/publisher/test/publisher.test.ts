import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  CONTRACTS,
  connectBus,
  consumeDurable,
  createLogger,
  ensureStreams,
  isPortcullisError,
  publishDurable,
  STREAMS,
  subjectFor,
  SUBJECTS,
  type BanDecisionV1,
  type Bus,
  type Consumption,
  type Contract,
  type FailureEventV1,
  type LogBatchV1,
} from '@portcullis/shared';
import { startTestNats, type TestServer } from '../../../tests/harness/index.js';
import { createPublisher, type Publisher } from '../src/index.js';

let nats: TestServer;
let bus: Bus;
let pub: Publisher;
let seq = 0;
const consumers: Consumption[] = [];

beforeAll(async () => {
  nats = await startTestNats();
  bus = await connectBus({ url: nats.url, name: 'publisher-test', log: createLogger({ service: 'test', level: 'silent' }) });
  await ensureStreams(bus);
  pub = await createPublisher({ natsUrl: nats.url, host: 'app1', source: 'webshop' });
});

afterEach(async () => {
  for (const c of consumers.splice(0)) await c.stop();
});

afterAll(async () => {
  await pub?.close();
  await bus?.close();
  await nats?.dispose();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await sleep(10);
  }
}

async function readAll<T>(stream: 'failures' | 'logs', atLeast: number): Promise<T[]> {
  const got: T[] = [];
  const contract: Contract = stream === 'failures' ? CONTRACTS.failure : CONTRACTS.logBatch;
  consumers.push(
    await consumeDurable(bus, { stream, durable: `pub-test-${++seq}`, contract, deliver: 'all', spanName: 'test', handler: async (m) => void got.push(m as T) }),
  );
  await waitFor(() => got.length >= atLeast, `${atLeast} messages on ${stream}, got ${got.length}`);
  await sleep(300);
  return got;
}

const count = async (stream: 'failures' | 'logs'): Promise<number> => (await bus.jsm.streams.info(STREAMS[stream].name)).state.messages;

describe('@portcullis/publisher against a real nats-server', () => {
  it('publishes a failure as a valid FailureEvent v1; the same report twice is stored once', async () => {
    const at = new Date(Date.UTC(2026, 0, 1, 12));
    await pub.failure({ jail: 'wordpress', ip: '203.0.113.7', at, user: 'admin', line: 'bad password for admin' });
    await pub.failure({ jail: 'wordpress', ip: '203.0.113.7', at, user: 'admin', line: 'bad password for admin' });
    await pub.failure({ jail: 'wordpress', ip: '203.0.113.8', id: 'login-8812' });
    expect(await count('failures')).toBe(2);
    const events = await readAll<FailureEventV1>('failures', 2);
    const derived = events.find((e) => e.ip === '203.0.113.7');
    expect(derived).toMatchObject({
      v: 1,
      jail: 'wordpress',
      at: at.getTime(),
      host: 'app1',
      source: 'webshop',
      origin: 'webshop',
      user: 'admin',
      line: 'bad password for admin',
      producer: 'external',
    });
    expect(derived?.id).toMatch(/^ext:app1:[0-9a-f]{32}$/);
    expect(events.find((e) => e.ip === '203.0.113.8')?.id).toBe('login-8812');
  });

  it('refuses an invalid failure before sending anything', async () => {
    const before = await count('failures');
    let err: unknown;
    try {
      await pub.failure({ jail: 'wordpress', ip: 'not-an-ip' });
    } catch (e) {
      err = e;
    }
    expect(isPortcullisError(err, 'PC_MESSAGE_INVALID')).toBe(true);
    expect((err as Error).message).toContain('ip: not an IPv4 or IPv6 address');
    await expect(pub.failure({ jail: '', ip: '192.0.2.1' })).rejects.toThrow(/jail/);
    expect(await count('failures')).toBe(before);
  });

  it('publishes lines as LogBatches for the jails, split to fit NATS messages, in order', async () => {
    const lines = Array.from({ length: 12_000 }, (_, i) => `2026-01-01T00:00:00Z app1 webshop[1]: login failed n=${i} from 192.0.2.${i % 250}`);
    await pub.lines(['wordpress', 'sshd'], 'webshop-auth', lines);
    const batches = await readAll<LogBatchV1>('logs', 3);
    const ours = batches.filter((b) => b.origin === 'webshop-auth');
    expect(ours.length).toBeGreaterThanOrEqual(3);
    expect(ours.every((b) => b.host === 'app1' && b.source === 'webshop' && b.jails.join() === 'sshd,wordpress')).toBe(true);
    const texts = [...ours].sort((a, b) => Number(a.id.split('#')[1]) - Number(b.id.split('#')[1])).flatMap((b) => b.lines.map((l) => l.text));
    expect(texts).toEqual(lines);
    // A line over the contract's limit is refused, and nothing of that call is sent.
    const before = await count('logs');
    await expect(pub.lines('sshd', 'x', ['ok', 'z'.repeat(70_000)])).rejects.toThrow(/PC_MESSAGE_INVALID|too big|65536/i);
    expect(await count('logs')).toBe(before);
  });

  it('delivers decisions to onDecision (optionally of one jail) until unsubscribed', async () => {
    const all: BanDecisionV1[] = [];
    const sshdOnly: BanDecisionV1[] = [];
    const stopAll = pub.onDecision((d) => void all.push(d));
    const stopSshd = pub.onDecision((d) => void sshdOnly.push(d), { jail: 'sshd' });
    await sleep(100);
    const decision = (jail: string, ip: string): BanDecisionV1 => ({
      v: 1,
      id: `test-${jail}-${ip}`,
      kind: 'ban',
      jail,
      ip,
      at: Date.now(),
      until: null,
      bantime: -1,
      origin: 'log',
      reason: 'test',
      decidedBy: 'host1',
    });
    await publishDurable(bus, CONTRACTS.decision, subjectFor(SUBJECTS.decisions, 'sshd'), decision('sshd', '192.0.2.1'));
    await publishDurable(bus, CONTRACTS.decision, subjectFor(SUBJECTS.decisions, 'wordpress'), decision('wordpress', '192.0.2.2'));
    await waitFor(() => all.length === 2 && sshdOnly.length === 1, 'decisions');
    expect(sshdOnly[0]).toMatchObject({ kind: 'ban', jail: 'sshd', ip: '192.0.2.1', until: null });
    stopAll();
    stopSshd();
    await publishDurable(bus, CONTRACTS.decision, subjectFor(SUBJECTS.decisions, 'sshd'), decision('sshd', '192.0.2.3'));
    await sleep(300);
    expect(all).toHaveLength(2);
    expect(sshdOnly).toHaveLength(1);
  });
});
