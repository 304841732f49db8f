import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CONTRACTS, connectBus, consumeDurable, ensureStreams, STREAMS, type Bus, type Consumption, type Contract, type FailureEventV1, type LogBatchV1 } from '@portcullis/shared';
import { startTestNats, type TestServer } from '../../../../tests/harness/index.js';
import { createIngestServer, ingestPublishers, type IngestServer } from '../../src/ingest/index.js';
import { captureLog, sleep, waitFor } from '../syslog/recording-sink.js';

const TOKEN = 'webshop-token-0123456789abcdef';
const OTHER = 'billing-token-fedcba9876543210';

let nats: TestServer;
let bus: Bus;
let server: IngestServer;
let base: string;
let durableSeq = 0;
const consumers: Consumption[] = [];

beforeAll(async () => {
  nats = await startTestNats();
  bus = await connectBus({ url: nats.url, name: 'ingest-test', log: captureLog().log });
  await ensureStreams(bus);
  server = createIngestServer({
    port: 0,
    tokens: [
      { name: 'webshop', token: TOKEN },
      { name: 'billing', token: OTHER },
    ],
    jails: ['sshd', 'wordpress'],
    ...ingestPublishers(bus),
    log: captureLog().log,
    hostName: 'web1',
    bodyLimitBytes: 64 * 1024,
  });
  const { port } = await server.listen();
  base = `http://127.0.0.1:${port}`;
});

afterEach(async () => {
  for (const c of consumers.splice(0)) await c.stop();
});

afterAll(async () => {
  await server?.close();
  await bus?.close();
  await nats?.dispose();
});

async function post(path: string, body: unknown, opts: { token?: string | null; contentType?: string; raw?: string } = {}): Promise<{ status: number; headers: Headers; json: Record<string, unknown> }> {
  const headers: Record<string, string> = { 'content-type': opts.contentType ?? 'application/json' };
  const token = opts.token === undefined ? TOKEN : opts.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${base}${path}`, { method: 'POST', headers, body: opts.raw ?? JSON.stringify(body) });
  return { status: res.status, headers: res.headers, json: (await res.json()) as Record<string, unknown> };
}

/** Everything on a stream, read back through a fresh durable consumer. */
async function readStream<T>(stream: 'failures' | 'logs', contract: Contract, atLeast: number): Promise<T[]> {
  const got: T[] = [];
  const c = await consumeDurable(bus, {
    stream,
    durable: `ingest-test-${++durableSeq}`,
    contract,
    deliver: 'all',
    spanName: 'test.read',
    handler: async (m) => void got.push(m as T),
  });
  consumers.push(c);
  await waitFor(() => got.length >= atLeast, 15_000, () => `expected ${atLeast} messages on ${stream}, got ${got.length}`);
  // Anything beyond what we waited for would be a duplicate: give it time to show up.
  await sleep(300);
  return got;
}

async function streamCount(stream: 'failures' | 'logs'): Promise<number> {
  return (await bus.jsm.streams.info(STREAMS[stream].name)).state.messages;
}

describe('HTTP ingest (fastify, real nats-server with JetStream)', () => {
  it('refuses requests without a valid bearer token with 401, before reading the body', async () => {
    const before = await streamCount('failures');
    for (const token of [null, 'wrong-token-0123456789abcdef', `${TOKEN}x`, '']) {
      const r = await post('/v1/failures', { jail: 'sshd', ip: '192.0.2.1' }, { token });
      expect(r.status).toBe(401);
      expect(r.headers.get('www-authenticate')).toBe('Bearer realm="portcullis"');
      expect((r.json.error as { code: string }).code).toBe('PC_UNAUTHORIZED');
    }
    // Authentication comes first: an oversized body from a stranger is refused as 401, not parsed into a 413.
    const big = await post('/v1/lines', { jail: 'sshd', origin: 'x', lines: ['a'.repeat(100 * 1024)] }, { token: null });
    expect(big.status).toBe(401);
    const malformed = await fetch(`${base}/v1/lines`, { method: 'POST', headers: { authorization: `Basic ${TOKEN}`, 'content-type': 'application/json' }, body: '{}' });
    expect(malformed.status).toBe(401);
    expect(server.stats().refused.PC_UNAUTHORIZED).toBe(6);
    expect(await streamCount('failures')).toBe(before);
  });

  it('publishes a failure as FailureEvent v1 (producer external, host and source filled) and answers 202 after the ack', async () => {
    const at = Date.UTC(2026, 0, 2, 3, 4, 5);
    const r = await post('/v1/failures', { jail: 'wordpress', ip: '203.0.113.7', at, user: 'admin', line: 'wp-login failed for admin' });
    expect(r.status).toBe(202);
    expect(r.json.accepted).toBe(1);
    const [id] = r.json.ids as string[];
    expect(id).toMatch(/^ext:webshop:[0-9a-f]{32}$/);
    const events = await readStream<FailureEventV1>('failures', CONTRACTS.failure, 1);
    const ev = events.find((e) => e.id === id);
    expect(ev).toEqual({
      v: 1,
      id,
      jail: 'wordpress',
      ip: '203.0.113.7',
      at,
      host: 'web1',
      source: 'http',
      origin: 'http:webshop',
      user: 'admin',
      line: 'wp-login failed for admin',
      producer: 'external',
    });
  });

  it('accepts an array, keeps client ids (namespaced by token) and stores a retried post once', async () => {
    const body = [
      { id: 'login-1', jail: 'sshd', ip: '198.51.100.1', at: '2026-01-01T10:00:00Z' },
      { id: 'login-2', jail: 'sshd', ip: '2001:db8::2', at: '2026-01-01T10:00:01.500+01:00', host: 'app2', origin: 'shop-login' },
    ];
    const before = await streamCount('failures');
    const r1 = await post('/v1/failures', body);
    const r2 = await post('/v1/failures', body);
    expect([r1.status, r2.status]).toEqual([202, 202]);
    expect(r1.json.ids).toEqual(['ext:webshop:login-1', 'ext:webshop:login-2']);
    // The same client id from another token is another event.
    const r3 = await post('/v1/failures', body[0], { token: OTHER });
    expect(r3.json.ids).toEqual(['ext:billing:login-1']);
    expect(await streamCount('failures')).toBe(before + 3);
    const events = await readStream<FailureEventV1>('failures', CONTRACTS.failure, before + 3);
    const second = events.find((e) => e.id === 'ext:webshop:login-2');
    expect(second).toMatchObject({ ip: '2001:db8::2', at: Date.UTC(2026, 0, 1, 9, 0, 1, 500), host: 'app2', origin: 'shop-login' });
  });

  it('rejects invalid bodies with 4xx and a clear error naming the field, and counts them', async () => {
    const refusedBefore = server.stats().refused.PC_MESSAGE_INVALID ?? 0;
    const before = await streamCount('failures');

    const badIp = await post('/v1/failures', { jail: 'sshd', ip: '999.1.1.1' });
    expect(badIp.status).toBe(400);
    expect(badIp.json.error).toMatchObject({ code: 'PC_MESSAGE_INVALID', details: [{ path: 'ip', message: 'is not an IPv4 or IPv6 address' }] });

    const inArray = await post('/v1/failures', [{ jail: 'sshd', ip: '192.0.2.1' }, { jail: 'sshd', ip: 'nope' }]);
    expect(inArray.status).toBe(400);
    expect((inArray.json.error as { details: { path: string }[] }).details[0]?.path).toBe('[1].ip');

    const unknownKey = await post('/v1/failures', { jail: 'sshd', ip: '192.0.2.1', severity: 'high' });
    expect(unknownKey.status).toBe(400);
    expect(JSON.stringify(unknownKey.json)).toContain('severity');

    const badAt = await post('/v1/failures', { jail: 'sshd', ip: '192.0.2.1', at: 'yesterday' });
    expect(badAt.status).toBe(400);
    expect((badAt.json.error as { details: { path: string; message: string }[] }).details[0]).toMatchObject({ path: 'at', message: expect.stringContaining('RFC 3339') });

    const notJson = await post('/v1/failures', null, { raw: '{"jail": "sshd", ' });
    expect(notJson.status).toBe(400);
    expect((notJson.json.error as { message: string }).message).toMatch(/not valid JSON/);

    const wrongType = await post('/v1/failures', null, { raw: 'jail=sshd', contentType: 'text/plain' });
    expect(wrongType.status).toBe(415);
    expect(wrongType.json.error).toMatchObject({ code: 'PC_MESSAGE_INVALID', message: 'send the body as application/json' });

    const tooBig = await post('/v1/lines', { jail: 'sshd', origin: 'x', lines: ['a'.repeat(70 * 1024)] });
    expect(tooBig.status).toBe(413);
    expect((tooBig.json.error as { code: string }).code).toBe('PC_MESSAGE_INVALID');

    const bothJails = await post('/v1/lines', { jail: 'sshd', jails: ['sshd'], origin: 'x', lines: ['a'] });
    expect(bothJails.status).toBe(400);
    expect((bothJails.json.error as { details: { message: string }[] }).details[0]?.message).toBe('give either "jail" or "jails"');

    const multiLine = await post('/v1/lines', { jail: 'sshd', origin: 'x', lines: ['ok', 'two\nlines'] });
    expect(multiLine.status).toBe(400);
    expect((multiLine.json.error as { details: { path: string; message: string }[] }).details[0]).toMatchObject({ path: 'lines[1]', message: expect.stringContaining('new line') });

    expect(server.stats().refused.PC_MESSAGE_INVALID).toBe(refusedBefore + 9);
    expect(await streamCount('failures')).toBe(before);
  });

  it('answers 422 naming an unknown jail, and publishes nothing of that request', async () => {
    const before = await streamCount('failures');
    const r = await post('/v1/failures', [
      { jail: 'sshd', ip: '192.0.2.1' },
      { jail: 'postfix', ip: '192.0.2.2' },
    ]);
    expect(r.status).toBe(422);
    expect(r.json.error).toMatchObject({ code: 'PC_JAIL_UNKNOWN', message: 'unknown or disabled jail: postfix' });
    const lines = await post('/v1/lines', { jails: ['sshd', 'nginx-x'], origin: 'app', lines: ['x'] });
    expect(lines.status).toBe(422);
    expect((lines.json.error as { message: string }).message).toContain('nginx-x');
    expect(await streamCount('failures')).toBe(before);
  });

  it('publishes posted lines as a LogBatch for the named jails', async () => {
    const lines = ['2026-01-01T10:00:00Z web1 myapp[7]: login failed for bob from 203.0.113.9', '2026-01-01T10:00:01Z web1 myapp[7]: login failed for bob from 203.0.113.9'];
    const r = await post('/v1/lines', { jails: ['wordpress', 'sshd'], origin: 'myapp', lines });
    expect(r.status).toBe(202);
    expect(r.json).toMatchObject({ accepted: 2, id: expect.stringMatching(/^http:webshop:[0-9a-f]{32}$/) });
    const batches = await readStream<LogBatchV1>('logs', CONTRACTS.logBatch, 1);
    const b = batches.find((x) => x.id === r.json.id);
    expect(b).toMatchObject({ v: 1, host: 'web1', source: 'http', origin: 'myapp', jails: ['sshd', 'wordpress'] });
    expect(b?.lines.map((l) => l.text)).toEqual(lines);
  });

  it('health needs no token and reports the bus', async () => {
    const r = await fetch(`${base}/v1/health`);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ ok: true, bus: 'connected' });
    const missing = await fetch(`${base}/v1/nothing`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(missing.status).toBe(404);
  });

  it('answers 503 while the bus is down; the retry after it is back is stored exactly once', async () => {
    const body = { id: 'outage-1', jail: 'sshd', ip: '192.0.2.99', at: Date.UTC(2026, 0, 1) };
    const before = await streamCount('failures');
    await nats.stop();
    try {
      const down = await post('/v1/failures', body);
      expect(down.status).toBe(503);
      expect(down.headers.get('retry-after')).toBe('2');
      expect((down.json.error as { code: string }).code).toBe('PC_NATS_UNAVAILABLE');
      const health = await fetch(`${base}/v1/health`);
      expect(health.status).toBe(503);
      expect(await health.json()).toEqual({ ok: false, bus: 'disconnected' });
    } finally {
      await nats.restart();
    }
    let status = 0;
    const deadline = Date.now() + 30_000;
    while (status !== 202 && Date.now() < deadline) {
      status = (await post('/v1/failures', body)).status;
      if (status !== 202) await sleep(250);
    }
    expect(status).toBe(202);
    await sleep(500);
    expect(await streamCount('failures')).toBe(before + 1);
    const events = await readStream<FailureEventV1>('failures', CONTRACTS.failure, before + 1);
    expect(events.filter((e) => e.id === 'ext:webshop:outage-1')).toHaveLength(1);
  });
});

describe('HTTP ingest close', () => {
  it('finishes a request in flight (its publish included) before closing', async () => {
    let release: () => void = () => undefined;
    let inFlight = false;
    const published: FailureEventV1[] = [];
    const s = createIngestServer({
      port: 0,
      tokens: [{ name: 'app', token: TOKEN }],
      jails: ['sshd'],
      publishFailure: async (ev) => {
        inFlight = true;
        await new Promise<void>((r) => (release = r));
        published.push(ev);
      },
      publishLines: async () => undefined,
      log: captureLog().log,
      hostName: 'web1',
    });
    const { port } = await s.listen();
    const pending = fetch(`http://127.0.0.1:${port}/v1/failures`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ jail: 'sshd', ip: '192.0.2.1' }),
    });
    await waitFor(() => inFlight, 5000, () => 'request not in flight');
    const closing = s.close();
    await sleep(100);
    release();
    const res = await pending;
    expect(res.status).toBe(202);
    await closing;
    expect(published).toHaveLength(1);
    await expect(fetch(`http://127.0.0.1:${port}/v1/health`)).rejects.toThrow();
  });
});
