import { cutUtf8 } from './utf8.js';

/**
 * Splits a syslog TCP stream into messages (RFC 6587): octet counting ("<len> <msg>") when a frame
 * starts with a digit, otherwise non-transparent framing terminated by LF (a CR before it and NULs
 * are dropped). The mode is decided per frame, as rsyslog does, so a sender may mix them.
 *
 * Messages longer than `maxBytes` are cut to their first `maxBytes` bytes and flagged `truncated`:
 * the rest of the frame is read and discarded, so the stream stays in sync. A broken octet count
 * cannot be resynchronised: it is reported once and the framer stops (the caller closes the socket).
 */
export interface FramerEvents {
  frame(bytes: Buffer, truncated: boolean): void;
  error(reason: string): void;
}

const LF = 0x0a;
const CR = 0x0d;
const NUL = 0x00;
const SP = 0x20;
/** A length beyond 10 digits is garbage, not a message size. */
const MAX_LEN_DIGITS = 10;
const UTF8_SLACK = 3;

export class TcpFramer {
  readonly #maxBytes: number;
  readonly #on: FramerEvents;
  /** 'start': between frames; 'len': reading an octet count; 'counted': its body; 'line': an LF frame. */
  #state: 'start' | 'len' | 'counted' | 'line' = 'start';
  #lenText = '';
  #remaining = 0;
  #parts: Buffer[] = [];
  #kept = 0;
  #truncated = false;
  #failed = false;

  constructor(maxBytes: number, on: FramerEvents) {
    this.#maxBytes = maxBytes;
    this.#on = on;
  }

  get failed(): boolean {
    return this.#failed;
  }

  push(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length && !this.#failed) {
      switch (this.#state) {
        case 'start': {
          const b = chunk[i] as number;
          if (b === LF || b === CR || b === NUL || b === SP) i++;
          else if (b >= 0x30 && b <= 0x39) this.#state = 'len';
          else this.#state = 'line';
          break;
        }
        case 'len': {
          const b = chunk[i] as number;
          i++;
          if (b >= 0x30 && b <= 0x39) {
            this.#lenText += String.fromCharCode(b);
            if (this.#lenText.length > MAX_LEN_DIGITS) this.#fail(`octet count ${this.#lenText}... is too long`);
          } else if (b === SP) {
            const len = Number(this.#lenText);
            if (len === 0 || this.#lenText.startsWith('0')) this.#fail(`octet count "${this.#lenText}" is not a positive number without leading zeros`);
            else {
              this.#remaining = len;
              this.#state = 'counted';
            }
            this.#lenText = '';
          } else this.#fail(`octet count "${this.#lenText}" is followed by byte 0x${b.toString(16).padStart(2, '0')} instead of a space`);
          break;
        }
        case 'counted': {
          const take = Math.min(this.#remaining, chunk.length - i);
          this.#keep(chunk.subarray(i, i + take));
          i += take;
          this.#remaining -= take;
          if (this.#remaining === 0) this.#emit();
          break;
        }
        case 'line': {
          const nl = chunk.indexOf(LF, i);
          const end = nl === -1 ? chunk.length : nl;
          this.#keep(chunk.subarray(i, end));
          i = end;
          if (nl !== -1) {
            i++;
            this.#emit();
          }
          break;
        }
      }
    }
  }

  /** The connection ended: a last LF frame without its LF still counts; half an octet-counted frame does not. */
  end(): void {
    if (this.#failed) return;
    if (this.#state === 'line') this.#emit();
    else if (this.#state === 'counted') this.#fail(`connection closed ${this.#remaining} bytes before the end of an octet-counted frame`);
    else if (this.#state === 'len') this.#fail('connection closed inside an octet count');
  }

  #keep(bytes: Buffer): void {
    // A few bytes beyond the limit are kept so the cut can fall on a character boundary (cutUtf8).
    const room = this.#maxBytes + UTF8_SLACK - this.#kept;
    if (this.#kept + bytes.length > this.#maxBytes) this.#truncated = true;
    const kept = bytes.length > room ? bytes.subarray(0, Math.max(0, room)) : bytes;
    if (kept.length > 0) {
      // Copy: the socket may reuse its buffer after this callback.
      this.#parts.push(Buffer.from(kept));
      this.#kept += kept.length;
    }
  }

  #emit(): void {
    let frame: Buffer = Buffer.concat(this.#parts, this.#kept);
    const truncated = this.#truncated;
    this.#parts = [];
    this.#kept = 0;
    this.#truncated = false;
    this.#state = 'start';
    frame = truncated ? cutUtf8(frame, this.#maxBytes) : trimTerminators(frame);
    if (frame.length > 0) this.#on.frame(frame, truncated);
  }

  #fail(reason: string): void {
    this.#failed = true;
    this.#parts = [];
    this.#on.error(reason);
  }
}

/** Trailing CR, LF and NUL are framing, not content (a UDP datagram or counted frame often ends in one). */
export function trimTerminators(b: Buffer): Buffer {
  let end = b.length;
  while (end > 0) {
    const c = b[end - 1];
    if (c === LF || c === CR || c === NUL) end--;
    else break;
  }
  return end === b.length ? b : b.subarray(0, end);
}
