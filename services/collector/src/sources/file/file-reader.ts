import { open, type FileHandle } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import type { FilePosition, PendingChunk } from '../../positions/position-store.js';
import { ByteLines } from '../byte-lines.js';
import { EMPTY_HEAD, HEAD_BYTES, hashBytes, headMatches, readHeadBytes, type Head } from './head.js';
import { LineAssembler } from './line-assembler.js';
import type { ReadBuffer } from './read-buffer.js';

export interface ReadLimits {
  maxLines: number;
  maxBytes: number;
  maxLineBytes: number;
}

/** Lines read but not yet delivered: bytes [start, end) of the file. */
export interface Batch {
  start: number;
  end: number;
  lines: ByteLines;
  /** Bytes of the lines as kept (after cutting), plus one per terminator: the batch's size limit. */
  bytes: number;
  /** Monotonic ms (performance.now) when the first line was added: bounds how long it may wait. */
  createdAt: number;
  /** Set when this batch re-sends a chunk that was pending at a crash: it must keep its id. */
  chunkId?: string;
}

export interface OpenAt {
  offset: number;
  /** The head saved with the position; omitted for a file seen for the first time. */
  head?: Head;
  /** A chunk that was in flight when the position was saved; re-read as exactly that range. */
  pending?: PendingChunk;
}

/**
 * One open file generation (one inode). Reads forward from the last delivered offset into a caller's
 * reused buffer and groups complete lines into a batch. The batch stays here until delivered, and
 * nothing more is read while it is full, which is what bounds memory when the sink is slow or down.
 */
export class FileReader {
  readonly path: string;
  readonly dev: string;
  readonly ino: string;
  head: Head;
  /** First byte not yet delivered; always a line start. */
  committed: number;
  /** The chunk handed to the sink and not yet confirmed. */
  pending: PendingChunk | undefined;
  batch: Batch | null = null;
  truncatedLines = 0;
  readonly #fh: FileHandle;
  readonly #assembler: LineAssembler;
  #readOffset: number;
  /** Where the line being assembled starts (= end of the last line put in a batch). */
  #lineStart: number;
  #forced: PendingChunk | undefined;
  readonly #maxLineBytes: number;
  #closed = false;

  private constructor(path: string, fh: FileHandle, dev: string, ino: string, head: Head, at: OpenAt, maxLineBytes: number) {
    this.path = path;
    this.#fh = fh;
    this.dev = dev;
    this.ino = ino;
    this.head = head;
    this.committed = at.offset;
    this.#readOffset = at.offset;
    this.#lineStart = at.offset;
    this.#assembler = new LineAssembler(maxLineBytes);
    this.#maxLineBytes = maxLineBytes;
    if (at.pending && at.pending.start === at.offset && at.pending.end > at.offset) this.#forced = at.pending;
  }

  static async open(path: string, at: OpenAt, maxLineBytes: number): Promise<FileReader> {
    const fh = await open(path, 'r');
    try {
      const st = await fh.stat({ bigint: true });
      let head = at.head;
      if (!head) {
        const bytes = await readHeadBytes(fh);
        head = { len: bytes.length, hash: hashBytes(bytes) };
      }
      return new FileReader(path, fh, st.dev.toString(), st.ino.toString(), head, at, maxLineBytes);
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  get readOffset(): number {
    return this.#readOffset;
  }

  position(): FilePosition {
    const p: FilePosition = { dev: this.dev, ino: this.ino, offset: this.committed, headLen: this.head.len, headHash: this.head.hash };
    if (this.pending) p.pending = { ...this.pending };
    return p;
  }

  async size(): Promise<number> {
    return (await this.#fh.stat()).size;
  }

  /**
   * Checks that the open file still holds the content we have been reading (neither truncated below
   * what we read nor rewritten in place), and extends the identifying head while the file is shorter
   * than HEAD_BYTES. False means the file was truncated or replaced in place (copytruncate).
   */
  async verifyAndExtendHead(): Promise<boolean> {
    if ((await this.size()) < this.#readOffset) return false;
    const bytes = await readHeadBytes(this.#fh);
    if (!headMatches(bytes, this.head)) return false;
    if (this.head.len < HEAD_BYTES && bytes.length > this.head.len) this.head = { len: bytes.length, hash: hashBytes(bytes) };
    return true;
  }

  chunkId(batch: Batch): string {
    return batch.chunkId ?? `${this.dev}:${this.ino}:${this.head.hash}:${batch.start}`;
  }

  /**
   * Reads until the batch is full or the end of the file is reached. Bytes after the last complete
   * line that fit in a full batch are not kept: the next fill reads them again from #readOffset.
   *
   * The lines that lie within one read are not decoded nor copied one by one: the read's complete
   * lines become one block of the batch, each line a range of it (see ByteLines, ReadBuffer.keep).
   */
  async fill(rb: ReadBuffer, limits: ReadLimits, now: () => number): Promise<'full' | 'eof'> {
    for (;;) {
      if (!this.#forced && this.#isFull(limits)) return 'full';
      const buf = rb.buffer;
      let len = buf.length;
      if (this.#forced) {
        len = Math.min(len, this.#forced.end - this.#readOffset);
        if (len <= 0) return this.#finishForced(now);
      }
      const { bytesRead } = await this.#fh.read(buf, 0, len, this.#readOffset);
      const full = bytesRead > 0 && this.#scan(rb, buf.subarray(0, bytesRead), limits, now());
      if (len === buf.length) rb.read(bytesRead);
      if (bytesRead === 0) {
        // The file is shorter than the pending chunk said: it cannot be re-sent as it was.
        this.#forced = undefined;
        return 'eof';
      }
      if (full) return 'full';
      this.#readOffset += bytesRead;
    }
  }

  /**
   * Takes the complete lines of one read into the batch; true when the batch filled up before the
   * end of the read (#readOffset then stands after the last line taken).
   */
  #scan(rb: ReadBuffer, view: Buffer, limits: ReadLimits, readAt: number): boolean {
    const max = this.#maxLineBytes;
    const checkFull = !this.#forced;
    let s = 0;
    if (this.#assembler.hasPartial) {
      const nl = view.indexOf(10);
      if (nl === -1) {
        this.#assembler.append(view, 0, view.length);
        return false;
      }
      const line = this.#assembler.complete(view, 0, nl);
      if (line.truncated) this.truncatedLines++;
      const batch = this.#openBatch();
      batch.lines.addWhole(line.bytes, readAt);
      s = nl + 1;
      this.#took(batch, line.bytes.length, this.#readOffset + s);
      if (checkFull && this.#isFull(limits)) {
        this.#readOffset += s;
        return true;
      }
    }
    // Lines wholly inside this read: ranges of one block, kept when the scan stops.
    const first = s;
    let batch: Batch | null = null;
    let full = false;
    for (;;) {
      const nl = view.indexOf(10, s);
      if (nl === -1) {
        this.#assembler.append(view, s, view.length);
        break;
      }
      let e = nl;
      if (e > s && view[e - 1] === 13) e--;
      if (e - s > max) {
        e = s + max;
        this.truncatedLines++;
      }
      if (!batch) {
        batch = this.#openBatch();
        batch.lines.beginBlock(readAt);
      }
      batch.lines.addLine(s - first, e - first);
      batch.bytes += e - s + 1;
      s = nl + 1;
      if (checkFull && (batch.lines.length >= limits.maxLines || batch.bytes >= limits.maxBytes)) {
        full = true;
        break;
      }
    }
    if (batch) {
      batch.lines.endBlock(rb.keep(view, first, s));
      const lineEnd = this.#readOffset + s;
      batch.end = lineEnd;
      this.#lineStart = lineEnd;
    }
    if (full) this.#readOffset += s;
    return full;
  }

  /** Adds the unfinished last line to the batch: its file is gone and the \n will never come. */
  flushPartial(now: () => number): boolean {
    const line = this.#assembler.flush();
    if (!line) return false;
    if (line.truncated) this.truncatedLines++;
    const batch = this.#openBatch();
    batch.lines.addWhole(line.bytes, now());
    this.#took(batch, line.bytes.length, this.#readOffset);
    return true;
  }

  /** After delivery of the current batch. */
  delivered(): void {
    if (!this.batch) return;
    this.committed = this.batch.end;
    this.batch = null;
    this.pending = undefined;
  }

  /** The file was truncated or rewritten in place: start over at its beginning, as a new file. */
  reset(): void {
    this.batch = null;
    this.pending = undefined;
    this.#forced = undefined;
    this.#assembler.reset();
    this.committed = 0;
    this.#readOffset = 0;
    this.#lineStart = 0;
    this.head = EMPTY_HEAD;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#fh.close();
  }

  #finishForced(now: () => number): 'full' {
    const forced = this.#forced as PendingChunk;
    this.#forced = undefined;
    // The original chunk ended with a partial line flushed when its file was rotated away.
    if (this.#assembler.hasPartial) this.flushPartial(now);
    if (this.batch && this.batch.start === forced.start && this.batch.end === forced.end) this.batch.chunkId = forced.chunkId;
    return 'full';
  }

  #isFull(limits: ReadLimits): boolean {
    const b = this.batch;
    return b !== null && (b.lines.length >= limits.maxLines || b.bytes >= limits.maxBytes);
  }

  #openBatch(): Batch {
    if (!this.batch) this.batch = { start: this.#lineStart, end: this.#lineStart, lines: new ByteLines(), bytes: 0, createdAt: performance.now() };
    return this.batch;
  }

  /** Accounts for a line of `kept` bytes added to the batch, which ends at file offset lineEnd. */
  #took(batch: Batch, kept: number, lineEnd: number): void {
    batch.bytes += kept + 1;
    batch.end = lineEnd;
    this.#lineStart = lineEnd;
  }
}
