/**
 * Buffers for outgoing messages, used again once the server acknowledged what was in them. A busy
 * file sends about 150 MB of JSON a second; allocating it afresh kept V8 marking and compacting
 * every 60 ms for the external memory alone (--trace-gc), and every new megabyte cost page faults.
 *
 * A buffer is only given back after its message's acknowledgement: by then the client has copied it
 * into what it wrote to the socket. One whose publish failed is left to the garbage collector, since
 * the client may still hold it (to send after a reconnect).
 */
export class MessageBuffers {
  readonly #size: number;
  readonly #keep: number;
  readonly #free: Buffer[] = [];

  /** Buffers of `size` bytes; at most `keep` are kept while unused. */
  constructor(size: number, keep: number) {
    this.#size = size;
    this.#keep = keep;
  }

  /** A buffer of at least `bytes`. */
  take(bytes: number): Buffer {
    if (bytes > this.#size) return Buffer.allocUnsafe(bytes);
    return this.#free.pop() ?? Buffer.allocUnsafe(this.#size);
  }

  give(buf: Buffer): void {
    if (buf.length === this.#size && this.#free.length < this.#keep) this.#free.push(buf);
  }
}
