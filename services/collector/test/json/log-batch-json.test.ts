import { describe, expect, it } from 'vitest';
import { CONTRACTS, encodeMessage, type LogBatchV1 } from '@portcullis/shared';
import { JsonEscaper, OUT } from '../../src/json/json-escaper.js';
import { writeJsonStringBytes } from '../../src/json/json-string-bytes.js';
import { LogBatchParts, MAX_LINE_CHARS, type BatchEnvelope } from '../../src/json/log-batch-parts.js';
import { ByteLines } from '../../src/sources/byte-lines.js';
import { sourceLines, type SourceLine } from '../../src/sources/source.js';

/** A small deterministic generator (mulberry32): a failure can be reproduced from its seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Bytes that exercise every branch: controls, " and \, DEL, every kind of UTF-8 lead byte and the
 * edges of the continuation ranges (overlong, surrogate, above U+10FFFF, truncated sequences).
 */
const EDGES = [0x00, 0x01, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1f, 0x20, 0x22, 0x2f, 0x41, 0x5c, 0x7e, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xff];

function randomBytes(next: () => number, len: number): Buffer {
  const b = Buffer.alloc(len);
  for (let i = 0; i < len; i++) b[i] = next() < 0.5 ? (EDGES[Math.floor(next() * EDGES.length)] as number) : Math.floor(next() * 256);
  return b;
}

/** What the contract's own encoder sends for this LogBatch. */
function reference(batch: LogBatchV1): Buffer {
  return Buffer.from(encodeMessage(CONTRACTS.logBatch, batch));
}

const ENV: BatchEnvelope = { host: 'web-01', source: 'file', origin: '/var/log/aut"h\\ — ✓.log', jails: ['sshd', 'postfix-sasl'] };

function byteLines(lines: Buffer[], readAts: number[]): ByteLines {
  // Blocks of up to four lines read at the same time, with terminators, as the file reader makes them.
  const bl = new ByteLines();
  for (let i = 0; i < lines.length; ) {
    let n = 1;
    while (n < 4 && i + n < lines.length && readAts[i + n] === readAts[i]) n++;
    bl.beginBlock(readAts[i] as number);
    const pieces: Buffer[] = [];
    let at = 0;
    for (let k = 0; k < n; k++) {
      const l = lines[i + k] as Buffer;
      bl.addLine(at, at + l.length);
      pieces.push(l, Buffer.from('\r\n'));
      at += l.length + 2;
    }
    bl.endBlock(Buffer.concat(pieces));
    i += n;
  }
  return bl;
}

const take = (bytes: number): Buffer => Buffer.alloc(bytes + 7, 0xee);

/** Every part of the chunk, checked to be what the contract's encoder gives for its lines. */
function partsOf(chunkId: string, lines: SourceLine[] | ByteLines, limit: number, maxLines: number): { id: string; data: Buffer; batch: LogBatchV1 }[] {
  const parts = new LogBatchParts(chunkId, ENV, lines, limit, maxLines);
  const out: { id: string; data: Buffer; batch: LogBatchV1 }[] = [];
  for (let p = parts.next(take); p; p = parts.next(take)) {
    const batch = JSON.parse(p.data.toString('utf8')) as LogBatchV1;
    expect(batch.id).toBe(p.id);
    expect(p.data.equals(reference(batch))).toBe(true);
    out.push({ ...p, batch });
  }
  return out;
}

describe('JSON string content from bytes', () => {
  it('equals JSON.stringify of the decoded text, for random bytes and every UTF-8 edge', () => {
    const next = rng(42);
    const out = Buffer.alloc(6 * 64);
    for (let t = 0; t < 100_000; t++) {
      const b = randomBytes(next, Math.floor(next() * 64));
      const n = writeJsonStringBytes(b, 0, b.length, out, 0);
      const expected = Buffer.from(JSON.stringify(b.toString('utf8')).slice(1, -1), 'utf8');
      if (!out.subarray(0, n).equals(expected)) expect(out.subarray(0, n).toString('hex')).toBe(expected.toString('hex'));
    }
  });

  it('writes a range of a larger buffer and copies valid multi-byte characters as they are', () => {
    const text = 'ab"c\\d\te\u0001f\u007f — ünïcödé ✓ 𝄞 \u2028';
    const src = Buffer.concat([Buffer.from('xx'), Buffer.from(text), Buffer.from('yy')]);
    const out = Buffer.alloc(6 * src.length);
    const n = writeJsonStringBytes(src, 2, src.length - 2, out, 0);
    expect(out.toString('utf8', 0, n)).toBe(JSON.stringify(text).slice(1, -1));
  });
});

/** Valid text of every kind: ASCII with escapes, two- to four-byte characters, U+2028, DEL. */
function randomText(next: () => number, len: number): string {
  const pool = ['a', 'Z', ' ', '"', '\\', '/', '\t', '\n', '\r', '\b', '\f', '\u0000', '\u0001', '\u001f', '\u007f', 'é', 'ü', '—', '✓', '\u2028', '😀', '𝄞', '\ufffd'];
  let s = '';
  // Runs of plain ASCII too, so the 16-byte steps are taken and left at every offset.
  while (s.length < len) s += next() < 0.5 ? 'plain ascii text '.slice(0, 1 + Math.floor(next() * 17)) : (pool[Math.floor(next() * pool.length)] as string);
  return s;
}

describe('the WebAssembly escaper', () => {
  it('writes {"text":...,"readAt":...} lines as JSON.stringify does, for valid UTF-8 of every kind', () => {
    const esc = new JsonEscaper();
    const next = rng(11);
    esc.reserve(1 << 16);
    for (let t = 0; t < 20_000; t++) {
      const text = randomText(next, Math.floor(next() * 120));
      const readAt = Math.floor(next() * 2 ** 53);
      const bytes = Buffer.concat([Buffer.from('xyz'), Buffer.from(text), Buffer.from('\n')]);
      const at = esc.loadBlock(bytes, new Uint32Array([3]), new Uint32Array([bytes.length - 1]), 0, 1);
      const suffix = esc.setReadAt(readAt);
      const comma = t % 2 === 0;
      const end = esc.line(at + 3, at + bytes.length - 1, OUT, comma, suffix);
      const expected = `${comma ? ',' : ''}${JSON.stringify({ text, readAt })}`;
      const got = esc.buf.toString('utf8', OUT, end);
      if (got !== expected) expect(got).toBe(expected);
    }
  });

  it('writes a block of lines up to a limit, and says where it stopped', () => {
    const esc = new JsonEscaper();
    esc.reserve(4096);
    const texts = ['first "line"', 'second\tline', '', 'fourth — ✓', 'x'.repeat(100)];
    const block = Buffer.from(texts.map((t) => `${t}\n`).join(''));
    const starts: number[] = [];
    const ends: number[] = [];
    for (let at = 0, i = 0; i < texts.length; i++) {
      starts.push(at);
      at += Buffer.byteLength(texts[i] as string);
      ends.push(at);
      at += 1;
    }
    esc.loadBlock(block, new Uint32Array(starts), new Uint32Array(ends), 0, texts.length);
    const suffix = esc.setReadAt(7);
    const json = (from: number, to: number): string => texts.slice(from, to).map((text) => JSON.stringify({ text, readAt: 7 })).join(',');
    expect(esc.lines(0, texts.length, OUT, OUT + 4096, false, suffix)).toBe(texts.length);
    expect(esc.buf.toString('utf8', OUT, esc.end)).toBe(json(0, texts.length));
    // Room for the first three lines only: stops before the fourth.
    const room = Buffer.byteLength(json(0, 3));
    expect(esc.lines(0, texts.length, OUT, OUT + room + 5, false, suffix)).toBe(3);
    expect(esc.buf.toString('utf8', OUT, esc.end)).toBe(json(0, 3));
    // From the second, after what is already there: a comma first.
    expect(esc.lines(1, 3, OUT + 1, OUT + 4096, true, suffix)).toBe(3);
    expect(esc.buf.toString('utf8', OUT + 1, esc.end)).toBe(`,${json(1, 3)}`);
  });
});

describe('LogBatch messages written directly', () => {
  it('valid text read as bytes: the same bytes as the contract encoder, across blocks and messages', () => {
    const next = rng(5);
    const texts = Array.from({ length: 2000 }, () => randomText(next, Math.floor(next() * 300)));
    // Line terminators in the text would make other lines: in a file they are the line ends.
    const clean = texts.map((t) => t.replace(/\n/g, ' ').replace(/\r$/, ''));
    const readAts = clean.map((_, i) => 1_795_318_801_000 + Math.floor(i / 3));
    const expected = clean.map((text, i) => ({ text, readAt: readAts[i] as number }));
    const parts = partsOf('v:1', byteLines(clean.map((t) => Buffer.from(t)), readAts), 32 * 1024, 10_000);
    expect(parts.length).toBeGreaterThan(5);
    expect(parts.flatMap((p) => p.batch.lines)).toEqual(expected);
  });


  it('are byte for byte what the contract encoder gives, for text lines and for bytes with invalid UTF-8', () => {
    const next = rng(7);
    const raw = Array.from({ length: 300 }, (_, i) => (i % 3 === 0 ? Buffer.from(`Nov 22 04:20:24 web-01 sshd[${i}]: Failed password for "röot" from 203.0.113.9`) : randomBytes(next, Math.floor(next() * 200))));
    const readAts = raw.map((_, i) => 1_795_318_801_000 + Math.floor(i / 7));
    const bytes = byteLines(raw, readAts);
    const expected = raw.map((b, i) => ({ text: b.toString('utf8'), readAt: readAts[i] as number }));
    expect(bytes.toLines()).toEqual(expected);
    for (const lines of [bytes, expected]) {
      const parts = partsOf('dev:ino:hash:0', lines, 16 * 1024, 10_000);
      expect(parts.length).toBeGreaterThan(2);
      expect(parts.flatMap((p) => p.batch.lines)).toEqual(expected);
    }
  });

  it('a chunk that fits is one message under the chunk id; a larger one is split greedily, under the limits', () => {
    const lines = Array.from({ length: 1000 }, (_, i) => ({ text: `line ${i} ${'x'.repeat(i % 50)}`, readAt: 1_000 + i }));
    expect(partsOf('c:1', lines.slice(0, 5), 16 * 1024, 100).map((p) => p.id)).toEqual(['c:1']);

    const limit = 8 * 1024;
    const parts = partsOf('c:2', lines, limit, 100);
    expect(parts.map((p) => p.id)).toEqual(parts.map((_, i) => `c:2#${i}`));
    expect(parts.flatMap((p) => p.batch.lines)).toEqual(lines);
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i] as (typeof parts)[number];
      expect(p.data.length).toBeLessThanOrEqual(limit);
      expect(p.batch.lines.length).toBeLessThanOrEqual(100);
      const following = parts[i + 1]?.batch.lines[0];
      // Greedy: the next message's first line would not have fitted in this one (whose room was
      // reckoned with the longest id the chunk could need, `#999`).
      if (following && p.batch.lines.length < 100) expect(p.data.length + 1 + JSON.stringify(following).length).toBeGreaterThan(limit - ('#999'.length - `#${i}`.length));
    }
    // The same lines (read again, at other times) split the same way: the ids are stable.
    const again = partsOf('c:2', lines.map((l) => ({ ...l, readAt: l.readAt + 5_000 })), limit, 100);
    expect(again.map((p) => [p.id, p.batch.lines.length])).toEqual(parts.map((p) => [p.id, p.batch.lines.length]));
  });

  it('cuts a text over the contract limit to 65,536 characters, from text or from bytes', () => {
    const long = 'é'.repeat(70_000);
    const bl = new ByteLines();
    bl.addWhole(Buffer.from(long), 5);
    for (const lines of [[{ text: long, readAt: 5 }], bl]) {
      const parts = partsOf('l:1', lines, 1024 * 1024, 10);
      expect(parts.flatMap((p) => p.batch.lines)).toEqual([{ text: long.slice(0, MAX_LINE_CHARS), readAt: 5 }]);
    }
  });

  it('cuts a line that alone does not fit to the longest prefix that does, never inside a surrogate pair', () => {
    const limit = 4096;
    const texts = ['\u0001'.repeat(5000), `${'a'.repeat(2000)}${'😀'.repeat(2000)}`, 'short'];
    const parts = partsOf('s:1', texts.map((text) => ({ text, readAt: 9 })), limit, 10);
    const got = parts.flatMap((p) => p.batch.lines.map((l) => l.text));
    expect(got).toHaveLength(3);
    for (const [i, text] of texts.slice(0, 2).entries()) {
      const cut = got[i] as string;
      expect(text.startsWith(cut)).toBe(true);
      expect(cut.length).toBeLessThan(text.length);
      const msg = parts[i] as (typeof parts)[number];
      expect(msg.data.length).toBeLessThanOrEqual(limit);
      // One more character (two for a surrogate pair) would not have fitted.
      const more = text.slice(0, cut.length + (text.charCodeAt(cut.length) >= 0xd800 ? 2 : 1));
      expect(msg.data.length - Buffer.byteLength(JSON.stringify(cut)) + Buffer.byteLength(JSON.stringify(more))).toBeGreaterThan(limit - 2);
    }
    expect(got[1]?.endsWith('😀')).toBe(true);
    expect(got[2]).toBe('short');
  });

  it('refuses a limit too small for any LogBatch', () => {
    expect(() => new LogBatchParts('x', ENV, [{ text: 'a', readAt: 1 }], 100, 10)).toThrow(/cannot fit/);
  });

  it('sourceLines decodes byte lines as the text sources would have produced them', () => {
    const bl = byteLines([Buffer.from('one'), Buffer.from([0x66, 0xff, 0x67]), Buffer.from('')], [1, 2, 3]);
    expect(sourceLines(bl)).toEqual([
      { text: 'one', readAt: 1 },
      { text: 'f\ufffdg', readAt: 2 },
      { text: '', readAt: 3 },
    ]);
    expect(bl.text(1)).toBe('f\ufffdg');
    expect(bl.readAt(2)).toBe(3);
  });
});
