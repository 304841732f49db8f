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
