import type { ByteLines } from '../byte-lines.js';

/**
 * A tailer's read buffer, sized to what there is to read: small for a live log, which is read a few
 * lines at a time, and large while a backlog is read, where each read is a round trip to the thread
 * pool that leaves the collector waiting (a backlog of 2 million lines went about 40% faster with
 * 1 MiB reads than with 64 KiB ones, measured).
 *
 * A large read is not copied into the batch: the batch keeps the buffer itself (keep), the next read
 * goes to another, and once the batch is delivered its buffers come back for reuse (recycle). A
 * backlog thus reads into the same few megabytes over and over instead of allocating them anew:
 * allocating them kept V8 collecting garbage for 10-15% of the collector's time, reuse about 1%
 * (measured with --cpu-prof).
 */
export class ReadBuffer {
  readonly #small: number;
  readonly #large: number;
  /** Large buffers free for reuse: as many as a batch of maxBytes holds, plus the one being read. */
  readonly #keepFree: number;
  #buf: Buffer;
  /** The current buffer was kept by a batch: the next read needs another. */
  #lent = false;
  readonly #free: Buffer[] = [];
  /** Buffers kept by batches, to recognise them (and only them) when they come back. */
  readonly #lentOut = new WeakSet<ArrayBufferLike>();

  constructor(small: number, large: number, batchMaxBytes: number) {
    this.#small = small;
    this.#large = large;
    this.#keepFree = Math.ceil(batchMaxBytes / large) + 1;
    this.#buf = Buffer.allocUnsafe(small);
  }

  /** Where the next read goes. */
  get buffer(): Buffer {
    if (this.#lent) {
      this.#buf = this.#free.pop() ?? Buffer.allocUnsafe(this.#large);
      this.#lent = false;
    }
    return this.#buf;
  }

  /** After a read of `bytes` that asked for the whole buffer: sizes the buffer for the next one. */
  read(bytes: number): void {
    const len = this.#buf.length;
    if (bytes === len && len < this.#large) {
      this.#buf = this.#free.pop() ?? Buffer.allocUnsafe(this.#large);
      this.#lent = false;
    } else if (bytes < this.#small && len > this.#small) {
      // Caught up: back to a live log's few lines at a time, and nothing held for a backlog.
      this.#buf = Buffer.allocUnsafe(this.#small);
      this.#lent = false;
      this.#free.length = 0;
    }
  }

  /**
   * Bytes [from, to) of `view`, the part of this buffer just read into, for a batch to keep until it
   * is delivered: the buffer itself when large, a copy of a small read.
   */
  keep(view: Buffer, from: number, to: number): Buffer {
    const buf = this.#buf;
    if (buf.length < this.#large || view.buffer !== buf.buffer) return Buffer.from(view.subarray(from, to));
    this.#lent = true;
    this.#lentOut.add(buf.buffer);
    return view.subarray(from, to);
  }

  /** A delivered batch's lines: the buffers it kept can be read into again. */
  recycle(lines: ByteLines): void {
    for (let k = 0; k < lines.blockCount; k++) {
      const ab = lines.block(k).buffer;
      if (!this.#lentOut.delete(ab)) continue;
      if (this.#free.length < this.#keepFree && this.#buf.length === this.#large) this.#free.push(Buffer.from(ab, 0, this.#large));
    }
  }
}
