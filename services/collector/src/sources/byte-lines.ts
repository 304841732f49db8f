import type { SourceLine } from './source.js';

/**
 * Lines kept as the bytes they were read as, for a source that reads bytes (the file source): the
 * complete lines of one read are copied into one block, and each line is a range of its block, so a
 * chunk of 50,000 lines is a few hundred buffers and two integer arrays instead of 50,000 strings
 * and objects. The publisher writes their JSON straight from the bytes (json/log-batch-parts.ts);
 * `text(i)` decodes one (invalid UTF-8 replaced by U+FFFD) for everything else.
 *
 * Filled with beginBlock, addLine for each of its lines, endBlock; blocks in line order.
 */
export class ByteLines {
  readonly #blocks: Buffer[] = [];
  /** Epoch ms when each block was read: the readAt of its lines. */
  readonly #readAt: number[] = [];
  /** Index of each block's first line. */
  readonly #first: number[] = [];
  /** Bytes of each block's longest line. */
  readonly #longest: number[] = [];
  #starts = new Uint32Array(256);
  #ends = new Uint32Array(256);
  #length = 0;

  get length(): number {
    return this.#length;
  }

  get blockCount(): number {
    return this.#blocks.length;
  }

  /** Opens a block; its bytes are given to endBlock once its lines are known. */
  beginBlock(readAt: number): void {
    this.#blocks.push(EMPTY);
    this.#readAt.push(readAt);
    this.#first.push(this.#length);
    this.#longest.push(0);
  }

  /** A line of the open block: bytes [start, end) of it, terminator and cut-off bytes excluded. */
  addLine(start: number, end: number): void {
    const n = this.#length;
    if (n === this.#starts.length) this.#grow();
    this.#starts[n] = start;
    this.#ends[n] = end;
    this.#length = n + 1;
    const k = this.#longest.length - 1;
    if (end - start > (this.#longest[k] as number)) this.#longest[k] = end - start;
  }

  endBlock(bytes: Buffer): void {
    this.#blocks[this.#blocks.length - 1] = bytes;
  }

  /** One block holding one line, all of `bytes`. */
  addWhole(bytes: Buffer, readAt: number): void {
    this.beginBlock(readAt);
    this.addLine(0, bytes.length);
    this.endBlock(bytes);
  }

  block(k: number): Buffer {
    return this.#blocks[k] as Buffer;
  }

  blockReadAt(k: number): number {
    return this.#readAt[k] as number;
  }

  blockLongest(k: number): number {
    return this.#longest[k] as number;
  }

  /** The lines of block k are [blockFirst(k), blockFirst(k + 1)); blockFirst(blockCount) = length. */
  blockFirst(k: number): number {
    return k < this.#first.length ? (this.#first[k] as number) : this.#length;
  }

  get starts(): Uint32Array {
    return this.#starts;
  }

  get ends(): Uint32Array {
    return this.#ends;
  }

  /** Line i decoded. */
  text(i: number): string {
    return this.#blocks[this.#blockOf(i)]?.toString('utf8', this.#starts[i], this.#ends[i]) ?? '';
  }

  readAt(i: number): number {
    return this.#readAt[this.#blockOf(i)] as number;
  }

  /** Every line decoded, as the sources that read text produce them. */
  toLines(): SourceLine[] {
    const out: SourceLine[] = [];
    for (let k = 0; k < this.#blocks.length; k++) {
      const b = this.#blocks[k] as Buffer;
      const readAt = this.#readAt[k] as number;
      for (let i = this.blockFirst(k); i < this.blockFirst(k + 1); i++) out.push({ text: b.toString('utf8', this.#starts[i], this.#ends[i]), readAt });
    }
    return out;
  }

  #blockOf(i: number): number {
    // Binary search over the blocks' first lines: the last block starting at or before i.
    let lo = 0;
    let hi = this.#first.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.#first[mid] as number) <= i) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  #grow(): void {
    const starts = new Uint32Array(this.#starts.length * 2);
    starts.set(this.#starts);
    this.#starts = starts;
    const ends = new Uint32Array(this.#ends.length * 2);
    ends.set(this.#ends);
    this.#ends = ends;
  }
}

const EMPTY = Buffer.alloc(0);
