import { open, type FileHandle } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import type { FilePosition, PendingChunk } from '../../positions/position-store.js';
import type { SourceLine } from '../source.js';
import { EMPTY_HEAD, HEAD_BYTES, hashBytes, headMatches, readHeadBytes, type Head } from './head.js';
import { LineAssembler, type AssembledLine } from './line-assembler.js';

export interface ReadLimits {
  maxLines: number;
  maxBytes: number;
  maxLineBytes: number;
}

/** Lines read but not yet delivered: bytes [start, end) of the file. */
export interface Batch {
  start: number;
  end: number;
  lines: SourceLine[];
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
   */
  async fill(buf: Buffer, limits: ReadLimits, now: () => number): Promise<'full' | 'eof'> {
    for (;;) {
      if (!this.#forced && this.#isFull(limits)) return 'full';
      let len = buf.length;
      if (this.#forced) {
        len = Math.min(len, this.#forced.end - this.#readOffset);
        if (len <= 0) return this.#finishForced(now);
      }
      const { bytesRead } = await this.#fh.read(buf, 0, len, this.#readOffset);
      if (bytesRead === 0) {
        // The file is shorter than the pending chunk said: it cannot be re-sent as it was.
        this.#forced = undefined;
        return 'eof';
      }
      const view = buf.subarray(0, bytesRead);
      const at = now();
      let s = 0;
      for (;;) {
        const nl = view.indexOf(10, s);
        if (nl === -1) {
          this.#assembler.append(view, s, bytesRead);
          break;
        }
        const lineEnd = this.#readOffset + nl + 1;
        this.#push(this.#assembler.complete(view, s, nl), lineEnd, at);
        s = nl + 1;
        if (!this.#forced && this.#isFull(limits)) {
          this.#readOffset = lineEnd;
          return 'full';
        }
      }
      this.#readOffset += bytesRead;
    }
  }

  /** Adds the unfinished last line to the batch: its file is gone and the \n will never come. */
  flushPartial(now: () => number): boolean {
    const line = this.#assembler.flush();
    if (!line) return false;
    this.#push(line, this.#readOffset, now());
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

  #push(line: AssembledLine, lineEnd: number, readAt: number): void {
    if (line.truncated) this.truncatedLines++;
    if (!this.batch) this.batch = { start: this.#lineStart, end: lineEnd, lines: [], bytes: 0, createdAt: performance.now() };
    this.batch.lines.push({ text: line.text, readAt });
    this.batch.bytes += line.bytes + 1;
    this.batch.end = lineEnd;
    this.#lineStart = lineEnd;
  }
}
