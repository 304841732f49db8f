import { I32, op, V128, wasmModule, type Code } from './wasm-encoding.js';

/**
 * Writes LogBatch lines, `{"text":"<escaped>","readAt":<ms>}`, from UTF-8 bytes in WebAssembly,
 * 16 bytes at a time where none needs escaping (nearly always, in a log). In JavaScript the same
 * loop (json-string-bytes.ts) cost about 600 ns a line of 110 bytes on the 2-core bench machine,
 * more than everything else the collector does; here it takes about 50, and checking and copying
 * the bytes in another 50 (measured with --cpu-prof).
 *
 * The escaping is JSON.stringify's: `"` and `\` and every control character below 0x20 are escaped
 * (\b \t \n \f \r by name, the others as \u00xx in lower-case hex), everything else is copied, bytes
 * above 0x7f too: the caller sends only valid UTF-8 here (checked with buffer.isUtf8) and writes
 * invalid lines with json-string-bytes.ts, which replaces what needs replacing.
 *
 * Memory: the tables, then the output of one message at OUT, then the block of lines being read
 * (copied in by loadBlock). One instance serves every chunk: each use is synchronous, from loading a
 * block to copying the message out (see LogBatchParts.next).
 */

const TABLE = 0; // 256 bytes: 0 = copy; else the escape's letter (b t n f r " \), or u for \u00xx
const HEX = 256; // "0123456789abcdef"
const PREFIX = 272; // `,{"text":"`, read 16 bytes at a time
const SUFFIX = 304; // `","readAt":<ms>}` of the current block, up to 32 bytes
const RESULT = 352; // where lines() leaves the end of what it wrote
export const OUT = 1024;
const PAGE = 65_536;
/** Slack after the output and the block: prefixes and suffixes are stored 16 bytes at a time. */
const SLACK = 64;
const [SCALAR, ESCAPE, LINE] = [0, 1, 2];

/** The 16 bytes in local v that need escaping, as a mask: controls, `"` and `\`. */
const dirty = (v: number): Code => [
  ...[...op.get(v), ...op.i32(0x20), ...op.i8x16Splat, ...op.i8x16LtU],
  ...[...op.get(v), ...op.i32(0x22), ...op.i8x16Splat, ...op.i8x16Eq, ...op.v128Or],
  ...[...op.get(v), ...op.i32(0x5c), ...op.i8x16Splat, ...op.i8x16Eq, ...op.v128Or],
];

/** Byte by byte through the table: scalar(src, end, out) -> out. */
const scalar = ((): Code => {
  const [src, end, out, c, t] = [0, 1, 2, 3, 4];
  return [
    ...op.block,
    ...op.loop,
    ...[...op.get(src), ...op.get(end), ...op.geU, ...op.brIf(1)],
    ...[...op.get(src), ...op.load8(), ...op.tee(c), ...op.load8(TABLE), ...op.tee(t), ...op.eqz],
    ...op.if,
    ...[...op.get(out), ...op.get(c), ...op.store8()],
    ...[...op.get(out), ...op.i32(1), ...op.add, ...op.set(out)],
    ...op.else,
    ...[...op.get(out), ...op.i32(0x5c), ...op.store8()],
    ...[...op.get(t), ...op.i32(0x75), ...op.eq],
    ...op.if,
    ...[...op.get(out), ...op.i32(0x75), ...op.store8(1)],
    ...[...op.get(out), ...op.i32(0x30), ...op.store8(2)],
    ...[...op.get(out), ...op.i32(0x30), ...op.store8(3)],
    ...[...op.get(out), ...op.get(c), ...op.i32(4), ...op.shrU, ...op.load8(HEX), ...op.store8(4)],
    ...[...op.get(out), ...op.get(c), ...op.i32(15), ...op.and, ...op.load8(HEX), ...op.store8(5)],
    ...[...op.get(out), ...op.i32(6), ...op.add, ...op.set(out)],
    ...op.else,
    ...[...op.get(out), ...op.get(t), ...op.store8(1)],
    ...[...op.get(out), ...op.i32(2), ...op.add, ...op.set(out)],
    ...op.end,
    ...op.end,
    ...[...op.get(src), ...op.i32(1), ...op.add, ...op.set(src)],
    ...op.br(0),
    ...op.end,
    ...op.end,
    ...op.get(out),
  ];
})();

/**
 * escape(src, end, out) -> out, 16 bytes at a time: each is copied whole, and where one needs
 * escaping the copy stands up to it, that byte goes through the table and the next 16 start after
 * it. The last few bytes of a line are checked as the line's last 16 (overlapping what was copied
 * already, which is only written again if those 16 need nothing), else byte by byte.
 */
const escape = ((): Code => {
  const [src, end, out, v, bits, start] = [0, 1, 2, 3, 4, 5];
  return [
    ...[...op.get(src), ...op.set(start)],
    ...op.block,
    ...op.loop,
    ...[...op.get(src), ...op.i32(16), ...op.add, ...op.get(end), ...op.gtU, ...op.brIf(1)],
    ...[...op.get(out), ...op.get(src), ...op.v128Load(), ...op.tee(v), ...op.v128Store()],
    ...[...dirty(v), ...op.i8x16Bitmask, ...op.tee(bits), ...op.eqz],
    ...op.if,
    ...[...op.get(src), ...op.i32(16), ...op.add, ...op.set(src)],
    ...[...op.get(out), ...op.i32(16), ...op.add, ...op.set(out)],
    ...op.else,
    ...[...op.get(bits), ...op.ctz, ...op.set(bits)],
    ...[...op.get(src), ...op.get(bits), ...op.add, ...op.set(src)],
    ...[...op.get(out), ...op.get(bits), ...op.add, ...op.set(out)],
    ...[...op.get(src), ...op.get(src), ...op.i32(1), ...op.add, ...op.get(out), ...op.call(SCALAR), ...op.set(out)],
    ...[...op.get(src), ...op.i32(1), ...op.add, ...op.set(src)],
    ...op.end,
    ...op.br(0),
    ...op.end,
    ...op.end,
    ...[...op.get(src), ...op.get(end), ...op.ltU],
    ...op.if,
    ...[...op.get(end), ...op.get(start), ...op.sub, ...op.i32(16), ...op.geU],
    ...op.if,
    ...[...op.get(end), ...op.i32(16), ...op.sub, ...op.v128Load(), ...op.set(v)],
    ...[...dirty(v), ...op.v128AnyTrue, ...op.eqz],
    ...op.if,
    ...[...op.get(out), ...op.get(src), ...op.sub, ...op.get(end), ...op.add, ...op.i32(16), ...op.sub, ...op.get(v), ...op.v128Store()],
    ...[...op.get(out), ...op.get(end), ...op.add, ...op.get(src), ...op.sub, ...op.set(out)],
    ...[...op.get(end), ...op.set(src)],
    ...op.end,
    ...op.end,
    ...op.end,
    ...[...op.get(src), ...op.get(end), ...op.get(out), ...op.call(SCALAR)],
  ];
})();

/** One line: line(src, end, out, comma, suffixLen) -> out, the `,` only if comma is 1. */
const line = ((): Code => {
  const [src, end, out, comma, suffixLen] = [0, 1, 2, 3, 4];
  return [
    // `,{"text":"` from PREFIX, or `{"text":"` from PREFIX + 1.
    ...[...op.get(out), ...op.get(comma), ...op.eqz, ...op.v128Load(PREFIX), ...op.v128Store()],
    ...[...op.get(out), ...op.get(comma), ...op.add, ...op.i32(9), ...op.add, ...op.set(out)],
    ...[...op.get(src), ...op.get(end), ...op.get(out), ...op.call(ESCAPE), ...op.set(out)],
    ...[...op.get(out), ...op.i32(0), ...op.v128Load(SUFFIX), ...op.v128Store()],
    ...[...op.get(out), ...op.i32(0), ...op.v128Load(SUFFIX + 16), ...op.v128Store(16)],
    ...[...op.get(out), ...op.get(suffixLen), ...op.add],
  ];
})();

/**
 * Lines j..last of the loaded block: lines(starts, ends, base, j, last, out, limit, comma, suffixLen)
 * -> the first line not written, where the next would end past `limit`; the end of what was
 * written is left at RESULT.
 */
const lines = ((): Code => {
  const [starts, ends, base, j, last, out, limit, comma, suffixLen, next] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const lineBound = (table: number): Code => [...op.get(base), ...op.get(table), ...op.get(j), ...op.i32(2), ...op.shl, ...op.add, ...op.load32(), ...op.add];
  return [
    ...op.block,
    ...op.loop,
    ...[...op.get(j), ...op.get(last), ...op.geU, ...op.brIf(1)],
    ...[...lineBound(starts), ...lineBound(ends), ...op.get(out), ...op.get(comma), ...op.get(suffixLen), ...op.call(LINE), ...op.tee(next)],
    ...[...op.get(limit), ...op.gtU, ...op.brIf(1)],
    ...[...op.get(next), ...op.set(out), ...op.i32(1), ...op.set(comma)],
    ...[...op.get(j), ...op.i32(1), ...op.add, ...op.set(j)],
    ...op.br(0),
    ...op.end,
    ...op.end,
    ...[...op.i32(RESULT), ...op.get(out), ...op.store32()],
    ...op.get(j),
  ];
})();

const MODULE = wasmModule(
  [
    { name: 'scalar', params: [I32, I32, I32], results: [I32], locals: [I32, I32], body: scalar },
    { name: 'escape', params: [I32, I32, I32], results: [I32], locals: [V128, I32, I32], body: escape },
    { name: 'line', params: [I32, I32, I32, I32, I32], results: [I32], locals: [], body: line },
    { name: 'lines', params: [I32, I32, I32, I32, I32, I32, I32, I32, I32], results: [I32], locals: [I32], body: lines },
  ],
  1,
);

type LineFn = (src: number, end: number, out: number, comma: number, suffixLen: number) => number;
type LinesFn = (starts: number, ends: number, base: number, j: number, last: number, out: number, limit: number, comma: number, suffixLen: number) => number;

/** The part of the WebAssembly API used here (Node's type definitions for this version lack it). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: Record<string, unknown> };
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

export class JsonEscaper {
  readonly #memory: WasmMemory;
  readonly #line: LineFn;
  readonly #lines: LinesFn;
  #u8: Uint8Array;
  #buf: Buffer;
  /** Bytes reserved for output at OUT; the block goes after them. */
  #outCap = 0;
  /** The loaded block, and its lines' starts and ends (relative to it, as in ByteLines). */
  #blockAt = 0;
  #startsAt = 0;
  #endsAt = 0;

  constructor() {
    const instance = new wasm.Instance(new wasm.Module(MODULE));
    this.#memory = instance.exports.memory as WasmMemory;
    this.#line = instance.exports.line as LineFn;
    this.#lines = instance.exports.lines as LinesFn;
    this.#u8 = new Uint8Array(this.#memory.buffer);
    this.#buf = Buffer.from(this.#memory.buffer);
    const u8 = this.#u8;
    for (let c = 0; c < 0x20; c++) u8[TABLE + c] = 0x75;
    for (const [c, letter] of [
      [0x08, 'b'],
      [0x09, 't'],
      [0x0a, 'n'],
      [0x0c, 'f'],
      [0x0d, 'r'],
      [0x22, '"'],
      [0x5c, '\\'],
    ] as const) {
      u8[TABLE + c] = letter.charCodeAt(0);
    }
    u8.set(Buffer.from('0123456789abcdef', 'latin1'), HEX);
    u8.set(Buffer.from(',{"text":"', 'latin1'), PREFIX);
  }

  /** The memory, as a Buffer: output is written at OUT. Valid until the next reserve or loadBlock. */
  get buf(): Buffer {
    return this.#buf;
  }

  /** Room for `bytes` of output at OUT. */
  reserve(bytes: number): void {
    if (bytes > this.#outCap) this.#outCap = bytes;
    this.#grow(OUT + this.#outCap + SLACK);
  }

  /**
   * Copies in, after the output, a block of lines and the ranges of its lines first..first+count-1
   * (for lines()); returns where the block starts, for line().
   */
  loadBlock(block: Buffer, starts: Uint32Array, ends: Uint32Array, first: number, count: number): number {
    const at = OUT + this.#outCap + SLACK;
    const startsAt = (at + block.length + SLACK + 3) & ~3;
    const endsAt = startsAt + 4 * count;
    this.#grow(endsAt + 4 * count);
    this.#u8.set(block, at);
    new Uint32Array(this.#memory.buffer, startsAt, count).set(starts.subarray(first, first + count));
    new Uint32Array(this.#memory.buffer, endsAt, count).set(ends.subarray(first, first + count));
    this.#blockAt = at;
    this.#startsAt = startsAt;
    this.#endsAt = endsAt;
    return at;
  }

  /** Sets the `","readAt":<ms>}` written after each line; returns its length. */
  setReadAt(readAt: number): number {
    return this.#buf.write(`","readAt":${readAt}}`, SUFFIX, 'latin1');
  }

  /**
   * Writes one line, bytes [src, end) of the memory (valid UTF-8), at `out`, preceded by a comma if
   * `comma`; returns the end. Needs 6 bytes per byte of text and SLACK of room.
   */
  line(src: number, end: number, out: number, comma: boolean, suffixLen: number): number {
    return this.#line(src, end, out, comma ? 1 : 0, suffixLen);
  }

  /**
   * Writes lines j..last-1 of the loaded block (numbered from its first, all valid UTF-8) at `out`
   * until one would end past `limit`; returns the first line not written. `end` is then where the
   * last written one ends.
   */
  lines(j: number, last: number, out: number, limit: number, comma: boolean, suffixLen: number): number {
    return this.#lines(this.#startsAt, this.#endsAt, this.#blockAt, j, last, out, limit, comma ? 1 : 0, suffixLen);
  }

  get end(): number {
    return this.#buf.readUInt32LE(RESULT);
  }

  #grow(bytes: number): void {
    const have = this.#memory.buffer.byteLength;
    if (bytes <= have) return;
    this.#memory.grow(Math.ceil((bytes - have) / PAGE));
    this.#u8 = new Uint8Array(this.#memory.buffer);
    this.#buf = Buffer.from(this.#memory.buffer);
  }
}
