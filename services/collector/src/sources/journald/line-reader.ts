import type { Readable } from 'node:stream';

/**
 * Lines of a child's stdout, pulled one at a time. The stream is paused while more than
 * `highWater` lines wait, so a journal read faster than the bus takes it does not fill memory:
 * journalctl then blocks on its pipe, and the journal itself is the buffer.
 */
export class LineReader {
  readonly #stream: Readable;
  readonly #highWater: number;
  readonly #lines: string[] = [];
  #head = 0;
  #partial = '';
  #ended = false;
  #wake: (() => void) | null = null;

  constructor(stream: Readable, highWater: number) {
    this.#stream = stream;
    this.#highWater = highWater;
    stream.setEncoding('utf8');
    stream.on('data', (s: string) => this.#onData(s));
    stream.on('end', () => this.#finish());
    stream.on('close', () => this.#finish());
    stream.on('error', () => this.#finish());
  }

  /** Lines waiting (already read from the pipe). */
  get buffered(): number {
    return this.#lines.length - this.#head;
  }

  /** The next line, or null once the stream ended and every line was taken. */
  async next(): Promise<string | null> {
    for (;;) {
      const line = this.tryNext();
      if (line !== undefined) return line;
      if (this.#ended) return null;
      await new Promise<void>((r) => (this.#wake = r));
    }
  }

  /** A line if one is waiting, undefined otherwise (null when ended and drained). */
  tryNext(): string | null | undefined {
    if (this.#head < this.#lines.length) {
      const line = this.#lines[this.#head++] as string;
      if (this.#head > 1024 && this.#head * 2 > this.#lines.length) {
        this.#lines.splice(0, this.#head);
        this.#head = 0;
      }
      if (this.#stream.isPaused() && this.buffered < this.#highWater / 2) this.#stream.resume();
      return line;
    }
    return this.#ended ? null : undefined;
  }

  /** Waits up to `ms` for a line to arrive; resolves true if one is waiting. */
  async waitFor(ms: number): Promise<boolean> {
    if (this.buffered > 0 || this.#ended) return this.buffered > 0;
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((r) => {
      this.#wake = r;
      timer = setTimeout(r, ms);
    });
    clearTimeout(timer);
    return this.buffered > 0;
  }

  #onData(s: string): void {
    const parts = (this.#partial + s).split('\n');
    this.#partial = parts.pop() ?? '';
    for (const p of parts) if (p !== '') this.#lines.push(p);
    if (this.buffered >= this.#highWater) this.#stream.pause();
    this.#signal();
  }

  #finish(): void {
    if (this.#ended) return;
    if (this.#partial !== '') this.#lines.push(this.#partial);
    this.#partial = '';
    this.#ended = true;
    this.#signal();
  }

  #signal(): void {
    const w = this.#wake;
    this.#wake = null;
    w?.();
  }
}
