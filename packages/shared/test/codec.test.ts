import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage, RejectCounter } from '../src/codec.js';
import { CONTRACTS } from '../src/contracts/index.js';
import { subjectToken } from '../src/subjects.js';

const failure = { v: 1 as const, id: 'e1', jail: 'sshd', ip: '203.0.113.7', at: 1, host: 'h', source: 'file', origin: '/var/log/auth.log' };

describe('contracts', () => {
  it('round-trips a valid message and fills defaults', () => {
    const out = decodeMessage(CONTRACTS.failure, encodeMessage(CONTRACTS.failure, failure));
    expect(out).toEqual({ ...failure, producer: 'log' });
  });

  it.each([
    ['not JSON', new TextEncoder().encode('{oops')],
    ['invalid UTF-8', new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])],
    ['wrong version', new TextEncoder().encode(JSON.stringify({ ...failure, v: 2 }))],
    ['bad address', new TextEncoder().encode(JSON.stringify({ ...failure, ip: '203.0.113.999' }))],
    ['missing field', new TextEncoder().encode(JSON.stringify({ ...failure, jail: undefined }))],
    ['oversized line', new TextEncoder().encode(JSON.stringify({ ...failure, line: 'x'.repeat(5000) }))],
  ])('rejects %s with PC_MESSAGE_INVALID', (_name, data) => {
    expect(() => decodeMessage(CONTRACTS.failure, data)).toThrow(expect.objectContaining({ code: 'PC_MESSAGE_INVALID' }));
  });

  it('refuses to publish an invalid message', () => {
    expect(() => encodeMessage(CONTRACTS.failure, { ...failure, ip: 'nope' } as never)).toThrow(/FailureEvent\.v1.*ip/);
  });

  it('counts rejects and rate-limits their logging', () => {
    const c = new RejectCounter();
    const logged = Array.from({ length: 2000 }, () => c.record('X').shouldLog).filter(Boolean).length;
    expect(c.total()).toBe(2000);
    expect(logged).toBe(12); // the first 10, then the 1000th and the 2000th
  });
});

describe('FailureBatch contract', () => {
  const batch = { v: 1 as const, id: 'b1', jail: 'sshd', host: 'h', source: 'file', origin: '/var/log/auth.log', failures: [{ id: 'e1', ip: '2001:db8::7', at: 1, line: 'l' }] };
  const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

  it('round-trips a valid batch and fills defaults', () => {
    expect(decodeMessage(CONTRACTS.failureBatch, encodeMessage(CONTRACTS.failureBatch, batch))).toEqual({ ...batch, producer: 'log' });
    expect(CONTRACTS.failureBatch.subject).toBe('portcullis.v1.failure-batch');
  });

  it.each([
    ['wrong version', enc({ ...batch, v: 2 })],
    ['no failures', enc({ ...batch, failures: [] })],
    ['too many failures', enc({ ...batch, failures: Array.from({ length: 10_001 }, (_, i) => ({ id: `e${i}`, ip: '192.0.2.1', at: 1 })) })],
    ['a bad address', enc({ ...batch, failures: [...batch.failures, { id: 'e2', ip: '192.0.2.999', at: 1 }] })],
    ['a failure without id', enc({ ...batch, failures: [{ ip: '192.0.2.1', at: 1 }] })],
    ['a fractional time', enc({ ...batch, failures: [{ id: 'e3', ip: '192.0.2.1', at: 1.5 }] })],
    ['an oversized line', enc({ ...batch, failures: [{ id: 'e4', ip: '192.0.2.1', at: 1, line: 'x'.repeat(5000) }] })],
    ['an unknown producer', enc({ ...batch, producer: 'me' })],
    ['no jail', enc({ ...batch, jail: undefined })],
  ])('rejects a batch with %s with PC_MESSAGE_INVALID', (_name, data) => {
    expect(() => decodeMessage(CONTRACTS.failureBatch, data)).toThrow(expect.objectContaining({ code: 'PC_MESSAGE_INVALID' }));
  });
});

describe('subject tokens', () => {
  it('keep plain names and make any other name one safe token', () => {
    expect(subjectToken('sshd')).toBe('sshd');
    for (const n of ['mail.example.org', 'a b', '*', '>', 'x.>', '']) expect(subjectToken(n)).toMatch(/^[A-Za-z0-9_~-]+$/);
  });

  it('are injective on tricky names', () => {
    const names = ['a.b', 'a~2e~b', 'a_b', 'a-b', 'a b', 'a~b', 'é', 'e'];
    expect(new Set(names.map(subjectToken)).size).toBe(names.length);
  });
});
