import { isAscii, isUtf8 } from 'node:buffer';
import { PortcullisError } from '@portcullis/shared';
import { ByteLines } from '../sources/byte-lines.js';
import type { SourceLine } from '../sources/source.js';
import { JsonEscaper, OUT } from './json-escaper.js';
import { JSON_BYTES_PER_BYTE, writeJsonStringBytes } from './json-string-bytes.js';

/** The LogBatch contract's limit on one line's text, in UTF-16 units (LogLine.text). */
export const MAX_LINE_CHARS = 65_536;

/** Everything of a LogBatch but its id and lines. */
export interface BatchEnvelope {
  host: string;
  source: string;
  origin: string;
  jails: string[];
}

/**
 * Bytes one line can take in JSON: its longest text is 65,536 characters (longer text is cut, and a
 * line of bytes is never longer in characters than in bytes) at six bytes each (\u00xx), or a
 * character of three UTF-8 bytes; plus {"text":"","readAt":<16 digits>}.
 */
const MAX_LINE_JSON = MAX_LINE_CHARS * JSON_BYTES_PER_BYTE + 64;

/**
 * Where lines are written before a message is cut off: one for all chunks, because every use of it
 * is synchronous (next() copies the message out before returning). Made on first use.
 */
let escaper: JsonEscaper | undefined;

/**
 * Splits a chunk's lines into LogBatchV1 messages of at most `limit` bytes and `maxLines` lines, and
 * writes each message's JSON directly: the bytes are those of JSON.stringify applied to the object
 * {v, id, host, source, origin, jails, lines: [{text, readAt}...]} (the contract's key order),
 * which the tests check, so consumers decode exactly what publishDurable would have sent.
 *
 * The split depends only on the lines, the envelope and the limit, and the ids on the split (the
 * chunk id for a single message, `<chunkId>#<i>` otherwise): the same chunk sent again after a crash
 * gives the same messages under the same ids, for JetStream to drop as duplicates. A line whose
 * message alone would exceed the limit (only with a max_payload far below NATS' default) is cut to
 * the longest prefix that fits: refusing it would make the source offer the same chunk forever.
 */
export class LogBatchParts {
  readonly #chunkId: string;
  readonly #lines: SourceLine[] | ByteLines;
  readonly #maxLines: number;
  /** `,"host":...,"jails":[...],"lines":[`, after the id. */
  readonly #headRest: string;
  /** Room for the lines' JSON in a message whose id is the longest this chunk can give. */
  readonly #budget: number;
  #next = 0;
  #part = 0;
  /** Cursor over the byte blocks: the block of line #next. */
  #block = 0;
  /** The block whose bytes and readAt are in the escaper's memory (within one next() call). */
  #loaded = -1;
  #loadedAt = 0;
  #loadedValid = false;
  #loadedPlain = false;
  #suffixLen = 0;

  constructor(chunkId: string, env: BatchEnvelope, lines: SourceLine[] | ByteLines, limit: number, maxLines: number) {
    this.#chunkId = chunkId;
    this.#lines = lines;
    this.#maxLines = maxLines;
    this.#headRest = `,"host":${JSON.stringify(env.host)},"source":${JSON.stringify(env.source)},"origin":${JSON.stringify(env.origin)},"jails":${JSON.stringify(env.jails)},"lines":[`;
    const longestId = lines.length > 1 ? `${chunkId}#${lines.length - 1}` : chunkId;
    this.#budget = limit - Buffer.byteLength(this.#head(longestId)) - 2;
    if (this.#budget < EMPTY_LINE_JSON) {
      throw new PortcullisError('PC_MESSAGE_INVALID', `a LogBatch for ${env.origin} cannot fit in ${limit} bytes, the server's max_payload less room for headers`);
    }
  }

  /**
   * The next message, written into a buffer from `take` (at least the size asked), or null once
   * every line went out.
   */
  next(take: (bytes: number) => Buffer): { id: string; data: Buffer } | null {
    const lines = this.#lines;
    const n = lines.length;
    if (this.#next >= n) return null;
    const esc = (escaper ??= new JsonEscaper());
    esc.reserve(this.#budget + MAX_LINE_JSON + 1);
    // Another chunk may have used the escaper since this one's last message.
    this.#loaded = -1;
    const bytes = lines instanceof ByteLines ? lines : null;
    const limit = OUT + this.#budget;
    let o = OUT;
    let count = 0;
    while (this.#next < n && count < this.#maxLines) {
      if (bytes) {
        const k = this.#blockOf(bytes, this.#next);
        if (this.#loaded !== k) this.#load(esc, bytes, k);
        if (this.#loadedPlain) {
          // The block's lines in one call, as many as fit.
          const first = bytes.blockFirst(k);
          const last = Math.min(bytes.blockFirst(k + 1), this.#next + this.#maxLines - count);
          const j = first + esc.lines(this.#next - first, last - first, o, limit, count > 0, this.#suffixLen);
          if (j > this.#next) o = esc.end;
          count += j - this.#next;
          this.#next = j;
          if (j === last) continue;
          // Line j does not fit: it starts the next message, or is cut if it would be alone.
          if (count > 0) break;
          o = writeCutLine(this.#lineAt(j), esc.buf, OUT, this.#budget);
          count++;
          this.#next++;
          continue;
        }
      }
      const before = o;
      if (bytes) {
        o = this.#writeBytesLine(esc, bytes, this.#next, o, count > 0);
      } else {
        if (count > 0) esc.buf[o++] = 0x2c;
        o = writeTextLine((lines as SourceLine[])[this.#next] as SourceLine, esc.buf, o);
      }
      if (o > limit) {
        if (count > 0) {
          o = before;
          break;
        }
        o = writeCutLine(this.#lineAt(this.#next), esc.buf, OUT, this.#budget);
      }
      count++;
      this.#next++;
    }
    const id = this.#part === 0 && this.#next >= n ? this.#chunkId : `${this.#chunkId}#${this.#part}`;
    this.#part++;
    const head = this.#head(id);
    const headLen = Buffer.byteLength(head);
    const size = headLen + o - OUT + 2;
    const data = take(size);
    data.write(head, 0, 'utf8');
    esc.buf.copy(data, headLen, OUT, o);
    data[size - 2] = 0x5d; // ]
    data[size - 1] = 0x7d; // }
    return { id, data: data.subarray(0, size) };
  }

  #head(id: string): string {
    return `{"v":1,"id":${JSON.stringify(id)}${this.#headRest}`;
  }

  /** The block holding line i (the cursor only moves forward). */
  #blockOf(lines: ByteLines, i: number): number {
    while (i >= lines.blockFirst(this.#block + 1)) this.#block++;
    return this.#block;
  }

  /** Line i alone, when its block is not plain (see #load). */
  #writeBytesLine(esc: JsonEscaper, lines: ByteLines, i: number, o: number, comma: boolean): number {
    const k = this.#block;
    const start = lines.starts[i] as number;
    const end = lines.ends[i] as number;
    const block = lines.block(k);
    if (this.#loadedValid && end - start <= MAX_LINE_CHARS && atCharBoundary(block, end)) {
      return esc.line(this.#loadedAt + start, this.#loadedAt + end, o, comma, this.#suffixLen);
    }
    const out = esc.buf;
    if (comma) out[o++] = 0x2c;
    // Characters never outnumber bytes: only a line of more bytes may need cutting to the limit.
    if (end - start > MAX_LINE_CHARS) return writeTextLine(this.#lineAt(i), out, o);
    out.write('{"text":"', o, 'latin1');
    o = writeJsonStringBytes(block, start, end, out, o + 9);
    return o + out.write(`","readAt":${lines.blockReadAt(k)}}`, o, 'latin1');
  }

  /**
   * Copies block k into the escaper and notes what its lines need. A block is plain when all its
   * lines can go to the escaper in one call: valid UTF-8, none longer than the contract allows, none
   * cut inside a character (at maxLineBytes).
   */
  #load(esc: JsonEscaper, lines: ByteLines, k: number): void {
    const block = lines.block(k);
    const first = lines.blockFirst(k);
    const last = lines.blockFirst(k + 1);
    this.#loaded = k;
    const ascii = isAscii(block);
    this.#loadedValid = ascii || isUtf8(block);
    let plain = this.#loadedValid && lines.blockLongest(k) <= MAX_LINE_CHARS;
    // In ASCII every byte starts a character.
    for (let i = first; plain && !ascii && i < last; i++) plain = atCharBoundary(block, lines.ends[i] as number);
    this.#loadedPlain = plain;
    this.#loadedAt = this.#loadedValid ? esc.loadBlock(block, lines.starts, lines.ends, first, last - first) : 0;
    this.#suffixLen = esc.setReadAt(lines.blockReadAt(k));
  }

  #lineAt(i: number): SourceLine {
    const lines = this.#lines;
    return lines instanceof ByteLines ? { text: lines.text(i), readAt: lines.readAt(i) } : (lines[i] as SourceLine);
  }
}

const EMPTY_LINE_JSON = Buffer.byteLength('{"text":"","readAt":0}');

function lineJson(text: string, readAt: number): string {
  return `{"text":${JSON.stringify(text)},"readAt":${readAt}}`;
}

/** A decoded line, cut to the contract's limit; `out` has room for MAX_LINE_JSON bytes at o. */
function writeTextLine(line: SourceLine, out: Buffer, o: number): number {
  const text = line.text.length > MAX_LINE_CHARS ? line.text.slice(0, MAX_LINE_CHARS) : line.text;
  return o + out.write(lineJson(text, line.readAt), o, 'utf8');
}

/** A line alone in its message, at `at`, cut to the longest prefix whose JSON fits in `budget` bytes. */
function writeCutLine(line: SourceLine, out: Buffer, at: number, budget: number): number {
  const text = line.text.length > MAX_LINE_CHARS ? line.text.slice(0, MAX_LINE_CHARS) : line.text;
  const fits = (k: number): boolean => Buffer.byteLength(lineJson(text.slice(0, k), line.readAt)) <= budget;
  if (!fits(0)) throw new PortcullisError('PC_MESSAGE_INVALID', `a line read at ${line.readAt} cannot fit in a LogBatch of ${budget} bytes of lines`);
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (fits(mid)) lo = mid;
    else hi = mid - 1;
  }
  // Not between the halves of a surrogate pair.
  const cut = lo > 0 && lo < text.length && isHighSurrogate(text.charCodeAt(lo - 1)) ? lo - 1 : lo;
  return at + out.write(lineJson(text.slice(0, cut), line.readAt), at, 'utf8');
}

/** Whether a line ending at `end` of a block of valid UTF-8 ends between two characters. */
function atCharBoundary(block: Buffer, end: number): boolean {
  return end === block.length || ((block[end] as number) & 0xc0) !== 0x80;
}

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}
