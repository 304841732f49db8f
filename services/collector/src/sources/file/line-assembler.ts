export interface AssembledLine {
  /** UTF-8 decoded; invalid sequences become U+FFFD. A trailing \r is removed. */
  text: string;
  /** The line was longer than maxLineBytes and was cut. */
  truncated: boolean;
  /** Bytes kept (after cutting), for batch size accounting. */
  bytes: number;
}

/**
 * Builds lines from byte ranges of a reused read buffer. A line that spans reads is copied out piece
 * by piece, but never more than maxLineBytes+1 bytes of it (one extra byte tells a line that is
 * exactly maxLineBytes long followed by \r\n from a longer one): a gigabyte without a newline costs
 * that much memory and no more.
 */
export class LineAssembler {
  readonly #max: number;
  #pieces: Buffer[] = [];
  #len = 0;
  #dropped = false;

  constructor(maxLineBytes: number) {
    this.#max = maxLineBytes;
  }

  /** True while bytes of an unfinished line are held (or were skipped). */
  get hasPartial(): boolean {
    return this.#len > 0 || this.#dropped;
  }

  /** Adds src[s, e), bytes of a line whose terminator has not been seen yet. */
  append(src: Buffer, s: number, e: number): void {
    const room = this.#max + 1 - this.#len;
    const take = Math.min(e - s, room);
    if (take > 0) {
      this.#pieces.push(Buffer.from(src.subarray(s, s + take)));
      this.#len += take;
    }
    if (take < e - s) this.#dropped = true;
  }

  /** Completes the current line with src[s, e), the bytes before its \n. */
  complete(src: Buffer, s: number, e: number): AssembledLine {
    if (!this.hasPartial) return this.#decode(src.subarray(s, e), false);
    this.append(src, s, e);
    return this.flush() as AssembledLine;
  }

  /** The unfinished line as it stands, for a file that will never get its \n; null if none. */
  flush(): AssembledLine | null {
    if (!this.hasPartial) return null;
    const raw = this.#pieces.length === 1 ? (this.#pieces[0] as Buffer) : Buffer.concat(this.#pieces, this.#len);
    const line = this.#decode(raw, this.#dropped);
    this.reset();
    return line;
  }

  reset(): void {
    this.#pieces = [];
    this.#len = 0;
    this.#dropped = false;
  }

  #decode(raw: Buffer, dropped: boolean): AssembledLine {
    let b = raw;
    if (!dropped && b.length > 0 && b[b.length - 1] === 13) b = b.subarray(0, b.length - 1);
    const truncated = dropped || b.length > this.#max;
    if (b.length > this.#max) b = b.subarray(0, this.#max);
    return { text: b.toString('utf8'), truncated, bytes: b.length };
  }
}
