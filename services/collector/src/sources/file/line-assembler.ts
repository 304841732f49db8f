export interface AssembledLine {
  /** The line's bytes, still undecoded: a trailing \r is removed, a line over maxLineBytes cut. */
  bytes: Buffer;
  /** The line was longer than maxLineBytes and was cut. */
  truncated: boolean;
}

/**
 * Builds the lines that span reads of a reused read buffer (the file reader takes the lines that lie
 * within one read directly from it). Such a line is copied out piece by piece, but never more than
 * maxLineBytes+1 bytes of it (one extra byte tells a line that is exactly maxLineBytes long followed
 * by \r\n from a longer one): a gigabyte without a newline costs that much memory and no more.
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

  /** Completes the current line (hasPartial) with src[s, e), the bytes before its \n. */
  complete(src: Buffer, s: number, e: number): AssembledLine {
    this.append(src, s, e);
    return this.flush() as AssembledLine;
  }

  /** The unfinished line as it stands, for a file that will never get its \n; null if none. */
  flush(): AssembledLine | null {
    if (!this.hasPartial) return null;
    const raw = this.#pieces.length === 1 ? (this.#pieces[0] as Buffer) : Buffer.concat(this.#pieces, this.#len);
    const line = this.#finish(raw, this.#dropped);
    this.reset();
    return line;
  }

  reset(): void {
    this.#pieces = [];
    this.#len = 0;
    this.#dropped = false;
  }

  #finish(raw: Buffer, dropped: boolean): AssembledLine {
    let end = raw.length;
    if (!dropped && end > 0 && raw[end - 1] === 13) end--;
    const truncated = dropped || end > this.#max;
    if (end > this.#max) end = this.#max;
    return { bytes: end === raw.length ? raw : raw.subarray(0, end), truncated };
  }
}
