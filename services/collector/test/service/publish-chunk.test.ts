import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectBus, createLogger, ensureStreams, findExecutable, formatUrl, PortcullisError, startLocalServer, STREAMS, type Bus, type JailConfig, type LocalServer } from '@portcullis/shared';
import { startTestNats, type TestServer } from '../../../../tests/harness/index.js';
import { filePatterns } from '../../src/collector.js';
import { publishChunk } from '../../src/publish-chunk.js';
import { sourceLines, type SourceChunk } from '../../src/sources/source.js';
import { StreamLines } from './stream-lines.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function chunk(id: string, texts: string[], readAt = 1_795_318_801_000): SourceChunk {
  return { origin: '/var/log/auth.log', jails: ['sshd'], chunkId: id, lines: texts.map((text) => ({ text, readAt })) };
}

async function rejection(p: Promise<unknown>): Promise<PortcullisError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(PortcullisError);
  return e as PortcullisError;
}

describe('publishChunk against a real JetStream', () => {
  let nats: TestServer;
  let bus: Bus;

  beforeAll(async () => {
    nats = await startTestNats();
    bus = await connectBus({ url: nats.url, name: 'publish-chunk-test', log: createLogger({ service: 'test', level: 'error' }) });
    await ensureStreams(bus);
  });
  afterAll(async () => {
    await bus?.close();
    await nats?.dispose();
  });

  async function reader(host: string): Promise<StreamLines> {
    return StreamLines.start(nats.url, host, { durable: `reader-${host}` });
  }

  /** The stored messages of one host, in stream order. */
  async function storedMessages(host: string): Promise<{ id: string; size: number; lines: number }[]> {
    const out: { id: string; size: number; lines: number }[] = [];
    const last = (await bus.jsm.streams.info(STREAMS.logs.name)).state.last_seq;
    for (let seq = 1; seq <= last; seq++) {
      const m = await bus.jsm.streams.getMessage(STREAMS.logs.name, { seq });
      if (!m || m.subject !== `portcullis.v1.log.lines.${host}`) continue;
      const batch = JSON.parse(Buffer.from(m.data).toString('utf8')) as { id: string; lines: unknown[] };
      out.push({ id: batch.id, size: m.data.length, lines: batch.lines.length });
    }
    return out;
  }

  it('splits a large chunk into messages of up to max_payload less room for headers, and a re-sent chunk is stored once', async () => {
    const host = 'split';
    const lines = await reader(host);
    try {
      const texts = Array.from({ length: 20_000 }, (_, i) => `L${String(i).padStart(7, '0')} web-01 sshd[4242]: Failed password for root from 203.0.113.${i % 250} port 22 ssh2`);
      const c = chunk('dev:ino:hash:0', texts);
      expect(bus.nc.info?.max_payload).toBe(1024 * 1024);
      await publishChunk(bus, host, 'file', c);
      const info = await bus.jsm.streams.info(STREAMS.logs.name);
      const stored = info.state.messages;
      // About 2.5 MB of JSON in messages of up to 1 MiB - 2 KiB.
      expect(stored).toBe(3);
      // After a crash the same range is read again (new read times) and sent under the same ids.
      await publishChunk(bus, host, 'file', { ...c, lines: sourceLines(c.lines).map((l) => ({ ...l, readAt: l.readAt + 5_000 })) });
      expect((await bus.jsm.streams.info(STREAMS.logs.name)).state.messages).toBe(stored);

      await lines.waitForLines(20_000, 10_000);
      await sleep(200);
      expect(lines.lines('/var/log/auth.log')).toEqual(texts);
      expect(lines.ids()).toEqual(Array.from({ length: stored }, (_, i) => `dev:ino:hash:0#${i}`));
      const messages = await storedMessages(host);
      expect(messages.map((m) => m.id)).toEqual(lines.ids());
      for (const m of messages) expect(m.size).toBeLessThanOrEqual(1024 * 1024 - 2048);
      // Full but for the last: no room for another line of about 130 bytes.
      for (const m of messages.slice(0, -1)) expect(m.size).toBeGreaterThan(1024 * 1024 - 2048 - 150);
    } finally {
      await lines.stop();
    }
  });

  it('a small chunk is one message whose id is the chunk id', async () => {
    const host = 'single';
    const lines = await reader(host);
    try {
      await publishChunk(bus, host, 'syslog', chunk('syslog:udp/514:42', ['one', 'two']));
      await lines.waitForLines(2, 10_000);
      expect(lines.ids()).toEqual(['syslog:udp/514:42']);
    } finally {
      await lines.stop();
    }
  });

  it('splits by the exact size of the JSON (text that escapes to six bytes a character)', async () => {
    const host = 'escapes';
    const lines = await reader(host);
    try {
      // 12 lines of 64 Ki of one control character each: \x01-\x07, \x0b take six bytes each in JSON
      // (\u0001), 384 KiB a line; \b \t \n \f two, 128 KiB a line. Two of the first fill a message.
      const texts = Array.from({ length: 12 }, (_, i) => String.fromCharCode(1 + i).repeat(65_536));
      await publishChunk(bus, host, 'file', chunk('c:1', texts));
      await lines.waitForLines(12, 10_000);
      expect(lines.lines('/var/log/auth.log')).toEqual(texts);
      expect(lines.ids()).toEqual(['c:1#0', 'c:1#1', 'c:1#2', 'c:1#3', 'c:1#4']);
      const messages = await storedMessages(host);
      expect(messages.map((m) => m.lines)).toEqual([2, 2, 2, 4, 2]);
      for (const m of messages) expect(m.size).toBeLessThanOrEqual(1024 * 1024 - 2048);
      // Re-sent, the parts get the same ids: nothing new is stored.
      const before = (await bus.jsm.streams.info(STREAMS.logs.name)).state.messages;
      await publishChunk(bus, host, 'file', chunk('c:1', texts));
      expect((await bus.jsm.streams.info(STREAMS.logs.name)).state.messages).toBe(before);
    } finally {
      await lines.stop();
    }
  });

  it('cuts lines over the contract limit to 65,536 characters', async () => {
    const host = 'long';
    const lines = await reader(host);
    try {
      await publishChunk(bus, host, 'http', chunk('h:1', ['y'.repeat(70_000), 'short']));
      await lines.waitForLines(2, 10_000);
      expect(lines.lines('/var/log/auth.log').map((t) => t.length)).toEqual([65_536, 5]);
    } finally {
      await lines.stop();
    }
  });

  it('refuses what the contract forbids with PC_MESSAGE_INVALID and publishes nothing', async () => {
    const before = (await bus.jsm.streams.info(STREAMS.logs.name)).state.messages;
    const badTime = await rejection(publishChunk(bus, 'bad', 'file', chunk('b:1', ['x'], -1)));
    expect(badTime.code).toBe('PC_MESSAGE_INVALID');
    expect(badTime.message).toMatch(/readAt -1/);
    const badJail = await rejection(publishChunk(bus, 'bad', 'file', { ...chunk('b:2', ['x']), jails: [] }));
    expect(badJail.code).toBe('PC_MESSAGE_INVALID');
    expect(badJail.message).toMatch(/jails/);
    const badId = await rejection(publishChunk(bus, 'bad', 'file', chunk('i'.repeat(300), ['x'])));
    expect(badId.code).toBe('PC_MESSAGE_INVALID');
    expect((await bus.jsm.streams.info(STREAMS.logs.name)).state.messages).toBe(before);
  });

  it('rejects (for the source to retry) while the server is down, and succeeds once it is back', async () => {
    await nats.stop();
    const e = await publishChunk(bus, 'down', 'file', chunk('d:1', ['x'])).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(Error);
    await nats.restart();
    const deadline = Date.now() + 20_000;
    for (;;) {
      try {
        await publishChunk(bus, 'down', 'file', chunk('d:1', ['x']));
        break;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await sleep(250);
      }
    }
  }, 40_000);
});

/** nats-server with JetStream and a config file setting max_payload (no command-line flag does). */
async function startSmallPayloadNats(dir: string, maxPayload: number): Promise<LocalServer> {
  const conf = join(dir, 'nats.conf');
  writeFileSync(conf, `max_payload: ${maxPayload}\n`);
  const binary = await findExecutable('nats-server');
  if (!binary) throw new Error('nats-server is not installed');
  const serverName = `small-payload-${process.pid}`;
  return startLocalServer({
    name: 'nats-server',
    binary,
    host: '127.0.0.1',
    port: undefined,
    dataDir: join(dir, 'js'),
    args: (port) => ['-c', conf, '-js', '-a', '127.0.0.1', '-p', String(port), '-sd', join(dir, 'js'), '--server_name', serverName],
    url: (h, port) => formatUrl('nats', h, port),
    probe: async (t) => {
      const bus = await connectBus({ url: formatUrl('nats', t.host, t.port), name: 'probe', log: createLogger({ service: 'probe', level: 'silent' }), connectTimeoutMs: t.timeoutMs });
      try {
        if (bus.nc.info?.server_name !== serverName) throw new Error('another server on this port');
        await bus.jsm.getAccountInfo();
      } finally {
        await bus.close();
      }
    },
  });
}

describe('publishChunk against a server with max_payload = 64 KiB', () => {
  let dir: string;
  let nats: LocalServer;
  let bus: Bus;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pct-small-payload-'));
    nats = await startSmallPayloadNats(dir, 64 * 1024);
    bus = await connectBus({ url: nats.url, name: 'small-payload-test', log: createLogger({ service: 'test', level: 'error' }) });
    await ensureStreams(bus);
  });
  afterAll(async () => {
    await bus?.close();
    await nats?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('splits messages to fit, cuts a line that alone does not, and re-sends to the same ids', async () => {
    const lines = await StreamLines.start(nats.url, 'small', { durable: 'small' });
    try {
      const texts = Array.from({ length: 20 }, (_, i) => `${String(i).padStart(2, '0')}${'a'.repeat(30_000)}`);
      // 64 Ki control characters: 384 KiB of JSON, six times the limit even alone.
      texts.push('\x01'.repeat(65_536));
      expect(bus.nc.info?.max_payload).toBe(64 * 1024);
      await publishChunk(bus, 'small', 'file', chunk('s:1', texts));
      await lines.waitForLines(21, 10_000);
      const got = lines.lines('/var/log/auth.log');
      expect(got.slice(0, 20)).toEqual(texts.slice(0, 20));
      // Two lines of 30 KB a message; the last line is cut to what fits in one: six bytes a
      // character, 64 KiB less 2 KiB for headers, less the JSON around it.
      const cut = got[20] as string;
      expect(cut).toBe('\x01'.repeat(cut.length));
      const stored = (await bus.jsm.streams.info(STREAMS.logs.name)).state.messages;
      expect(stored).toBe(lines.messages);
      expect(lines.ids()).toEqual(Array.from({ length: 11 }, (_, i) => `s:1#${i}`));
      const last = await bus.jsm.streams.getMessage(STREAMS.logs.name, { last_by_subj: 'portcullis.v1.log.lines.small' });
      const size = last?.data.length ?? 0;
      expect(size).toBeLessThanOrEqual(64 * 1024 - 2048);
      // The longest prefix that fits: one more character (6 bytes) would not.
      expect(size + 6).toBeGreaterThan(64 * 1024 - 2048 - ('#20'.length - '#10'.length));
      await publishChunk(bus, 'small', 'file', chunk('s:1', texts));
      expect((await bus.jsm.streams.info(STREAMS.logs.name)).state.messages).toBe(stored);
    } finally {
      await lines.stop();
    }
  });
});

describe('filePatterns', () => {
  const jail = (name: string, over: Partial<JailConfig>): JailConfig =>
    ({ name, enabled: true, backend: 'auto', logpath: [], fromStart: false, filter: { name: 'sshd', options: {} }, options: {}, ...over }) as JailConfig;

  it("a path's head/tail marker decides where it is first read, over the jail's fromstart", () => {
    const jails = [
      jail('a', { logpath: ['/var/log/a.log', '/var/log/b.log', '/var/log/c.log'], logpathStart: { '/var/log/a.log': 'head', '/var/log/b.log': 'tail' }, fromStart: true }),
      jail('d', { logpath: ['/var/log/d.log'], logpathStart: { '/var/log/d.log': 'head' } }),
      jail('e', { logpath: ['/var/log/e.log'] }),
    ];
    const start = Object.fromEntries(filePatterns(jails, false).map((p) => [p.glob, p.fromStart]));
    expect(start).toEqual({ '/var/log/a.log': true, '/var/log/b.log': false, '/var/log/c.log': true, '/var/log/d.log': true, '/var/log/e.log': false });
    // `up --from-start` reads everything from its start.
    expect(filePatterns(jails, true).every((p) => p.fromStart)).toBe(true);
  });

  it('one file watched by several jails is read once, for all of them', () => {
    const p = filePatterns([jail('x', { logpath: ['/var/log/auth.log'] }), jail('y', { logpath: ['/var/log/auth.log'], logpathStart: { '/var/log/auth.log': 'head' } })], false);
    expect(p).toEqual([{ glob: '/var/log/auth.log', jails: ['x', 'y'], fromStart: true }]);
  });
});
