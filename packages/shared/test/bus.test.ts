import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { connectBus, consumeDurable, ensureStreams, publishDurable, type Bus } from '../src/bus.js';
import { CONTRACTS } from '../src/contracts/index.js';
import { createLogger } from '../src/logger.js';
import { subjectFor, SUBJECTS } from '../src/subjects.js';
import { startTracing, tracer, context, trace, type Tracing } from '../src/tracing.js';
import { startTestNats, type TestServer } from '../../../tests/harness/index.js';
import { Writable } from 'node:stream';

const quiet = new Writable({ write: (_c, _e, cb) => cb() });
let nats: TestServer;
let bus: Bus;
let tracing: Tracing;
const spans = new InMemorySpanExporter();

beforeAll(async () => {
  nats = await startTestNats();
  tracing = startTracing({ serviceName: 'bus-test', host: 'h', exporter: spans });
  bus = await connectBus({ url: nats.url, name: 'bus-test', log: createLogger({ service: 't', destination: quiet }) });
  await ensureStreams(bus);
});

afterAll(async () => {
  await bus?.close();
  await tracing?.shutdown();
  await nats?.dispose();
});

const failure = (id: string) => ({ v: 1 as const, id, jail: 'sshd', ip: '203.0.113.7', at: 1, host: 'h', source: 'file', origin: 'x' });

describe('durable consumption', () => {
  it('rejects malformed messages without stopping, delivers the valid ones, and keeps the trace', async () => {
    const got: string[] = [];
    const c = await consumeDurable(bus, {
      stream: 'failures',
      durable: 'bus-test',
      contract: CONTRACTS.failure,
      spanName: 'test.consume',
      handler: async (m) => {
        got.push(m.id);
      },
    });
    const subject = subjectFor(SUBJECTS.failures, 'sshd');
    const parent = tracer().startSpan('test.publish');
    await context.with(trace.setSpan(context.active(), parent), async () => {
      await publishDurable(bus, CONTRACTS.failure, subject, failure('a'));
      await bus.js.publish(subject, new TextEncoder().encode('garbage'));
      await bus.js.publish(subject, new Uint8Array([0xff, 0x00]));
      await publishDurable(bus, CONTRACTS.failure, subject, failure('b'));
    });
    parent.end();
    const deadline = Date.now() + 10_000;
    while (got.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await c.stop();
    expect(got).toEqual(['a', 'b']);
    expect(bus.rejects.snapshot()).toEqual({ 'FailureEvent.v1': 2 });

    await new Promise((r) => setTimeout(r, 200));
    const finished = spans.getFinishedSpans();
    const consumed = finished.filter((s) => s.name === 'test.consume');
    expect(consumed).toHaveLength(2);
    for (const s of consumed) expect(s.spanContext().traceId).toBe(parent.spanContext().traceId);
  });

  it('publishes a message id once even when it is published twice', async () => {
    const subject = subjectFor(SUBJECTS.failures, 'dup');
    await publishDurable(bus, CONTRACTS.failure, subject, failure('same'), 'same');
    await publishDurable(bus, CONTRACTS.failure, subject, failure('same'), 'same');
    const info = await bus.jsm.streams.info('PORTCULLIS_FAILURES', { subjects_filter: subject });
    expect(info.state.subjects?.[subject]).toBe(1);
  });

  it('redelivers a message whose handler failed', async () => {
    const seen: number[] = [];
    let fail = true;
    const c = await consumeDurable(bus, {
      stream: 'failures',
      durable: 'bus-test-retry',
      contract: CONTRACTS.failure,
      filterSubject: subjectFor(SUBJECTS.failures, 'retry'),
      spanName: 'test.retry',
      handler: async () => {
        seen.push(Date.now());
        if (fail) {
          fail = false;
          throw new Error('transient');
        }
      },
    });
    await publishDurable(bus, CONTRACTS.failure, subjectFor(SUBJECTS.failures, 'retry'), failure('r'));
    const deadline = Date.now() + 10_000;
    while (seen.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await c.stop();
    expect(seen).toHaveLength(2);
  });

  it('rejects and counts malformed failure batches, and delivers the valid ones', async () => {
    const got: string[] = [];
    const c = await consumeDurable(bus, {
      stream: 'failureBatches',
      durable: 'bus-test-batches',
      contract: CONTRACTS.failureBatch,
      spanName: 'test.batch',
      handler: async (b) => {
        got.push(`${b.id}:${b.failures.length}`);
      },
    });
    const subject = subjectFor(SUBJECTS.failureBatches, 'sshd');
    const batch = { v: 1 as const, id: 'b1', jail: 'sshd', host: 'h', source: 'file', origin: 'x', failures: [{ id: 'f1', ip: '203.0.113.7', at: 1 }] };
    await publishDurable(bus, CONTRACTS.failureBatch, subject, batch, 'b1');
    await bus.js.publish(subject, new TextEncoder().encode(JSON.stringify({ ...batch, id: 'b2', failures: [{ id: 'f2', ip: 'nope', at: 1 }] })));
    await bus.js.publish(subject, new TextEncoder().encode(JSON.stringify({ ...batch, id: 'b3', failures: [] })));
    await publishDurable(bus, CONTRACTS.failureBatch, subject, { ...batch, id: 'b4' }, 'b4');
    const deadline = Date.now() + 10_000;
    while (got.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await c.stop();
    expect(got).toEqual(['b1:1', 'b4:1']);
    expect(bus.rejects.snapshot()['FailureBatch.v1']).toBe(2);
  });
});
