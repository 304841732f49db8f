import { describe, expect, it } from 'vitest';
import { TcpFramer } from '../../src/sources/syslog/tcp-framer.js';
import { cutUtf8 } from '../../src/sources/syslog/utf8.js';

function frames(maxBytes: number, chunks: (string | Buffer)[], end = true): { frames: { text: string; truncated: boolean }[]; errors: string[] } {
  const out: { text: string; truncated: boolean }[] = [];
  const errors: string[] = [];
  const f = new TcpFramer(maxBytes, { frame: (b, truncated) => out.push({ text: b.toString('utf8'), truncated }), error: (r) => errors.push(r) });
  for (const c of chunks) f.push(typeof c === 'string' ? Buffer.from(c) : c);
  if (end) f.end();
  return { frames: out, errors };
}

describe('TCP framing (RFC 6587)', () => {
  it('splits octet-counted and LF-framed messages, mixed and across reads', () => {
    const r = frames(1024, ['11 <13>hello w', 'orld<13>line one\r\n<13>li', 'ne two\n5 <1>ab', '\n\n<13>no newline at end']);
    expect(r.errors).toEqual([]);
    expect(r.frames.map((f) => f.text)).toEqual(['<13>hello w', 'orld<13>line one', '<13>line two', '<1>ab', '<13>no newline at end']);
  });

  it('keeps new lines inside octet-counted frames', () => {
    expect(frames(1024, ['8 <1>a\nb\nc']).frames.map((f) => f.text)).toEqual(['<1>a\nb\nc']);
  });

  it('truncates long messages on a character boundary and stays in sync', () => {
    const long = `<13>${'é'.repeat(100)}`; // 4 + 200 bytes
    const counted = `${Buffer.byteLength(long)} ${long}`;
    const r = frames(51, [counted, '<13>after\n', `<13>${'x'.repeat(80)}\n`, '<13>last\n']);
    expect(r.errors).toEqual([]);
    expect(r.frames.map((f) => f.truncated)).toEqual([true, false, true, false]);
    expect(r.frames[0]?.text).toBe(`<13>${'é'.repeat(23)}`); // 4 + 46 bytes: the 24th é would end at byte 52
    expect(r.frames[1]?.text).toBe('<13>after');
    expect(Buffer.byteLength(r.frames[2]?.text ?? '')).toBe(51);
    expect(r.frames[3]?.text).toBe('<13>last');
  });

  it('reports broken octet counts once and stops', () => {
    expect(frames(1024, ['12x <13>abc']).errors).toEqual(['octet count "12" is followed by byte 0x78 instead of a space']);
    expect(frames(1024, ['0 <13>abc']).errors[0]).toMatch(/not a positive number/);
    expect(frames(1024, ['123456789012 x']).errors[0]).toMatch(/too long/);
    expect(frames(1024, ['20 <13>short']).errors[0]).toMatch(/connection closed 11 bytes before the end/);
  });

  it('cutUtf8 never splits a character', () => {
    const b = Buffer.from('aé€😀');
    for (let n = 0; n <= b.length; n++) {
      const cut = cutUtf8(b, n);
      expect(cut.length).toBeLessThanOrEqual(n);
      expect(Buffer.from(cut.toString('utf8')).equals(cut)).toBe(true);
      expect(n - cut.length).toBeLessThan(4);
    }
  });
});
