/**
 * Just enough of the WebAssembly binary format to write the JSON escaper (json-escaper.ts) as code
 * here rather than ship a compiled blob: the few instructions it uses, by name, and the sections of a
 * module. The engine validates the result when it is compiled, and the escaper's tests compare its
 * output with JSON.stringify.
 */

export type Code = number[];

export function uleb(n: number): Code {
  const out: Code = [];
  let v = n >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

export function sleb(n: number): Code {
  const out: Code = [];
  let v = n | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

function vec(items: Code[]): Code {
  return [...uleb(items.length), ...items.flat()];
}

function section(id: number, body: Code): Code {
  return [id, ...uleb(body.length), ...body];
}

function name(s: string): Code {
  return vec([...Buffer.from(s, 'utf8')].map((b) => [b]));
}

export const I32 = 0x7f;
export const V128 = 0x7b;

/** Instructions, named as in the text format. */
export const op = {
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  if: [0x04, 0x40],
  else: [0x05],
  end: [0x0b],
  br: (depth: number): Code => [0x0c, ...uleb(depth)],
  brIf: (depth: number): Code => [0x0d, ...uleb(depth)],
  call: (fn: number): Code => [0x10, ...uleb(fn)],
  get: (local: number): Code => [0x20, ...uleb(local)],
  set: (local: number): Code => [0x21, ...uleb(local)],
  tee: (local: number): Code => [0x22, ...uleb(local)],
  /** i32.load8_u and i32.store8 with a constant offset (alignment 1). */
  load8: (offset = 0): Code => [0x2d, 0, ...uleb(offset)],
  store8: (offset = 0): Code => [0x3a, 0, ...uleb(offset)],
  i32: (n: number): Code => [0x41, ...sleb(n)],
  /** i32.load and i32.store with a constant offset (alignment 4). */
  load32: (offset = 0): Code => [0x28, 2, ...uleb(offset)],
  store32: (offset = 0): Code => [0x36, 2, ...uleb(offset)],
  eqz: [0x45],
  eq: [0x46],
  ltU: [0x49],
  gtU: [0x4b],
  geU: [0x4f],
  ctz: [0x68],
  add: [0x6a],
  sub: [0x6b],
  and: [0x71],
  shl: [0x74],
  shrU: [0x76],
  /** v128.load and v128.store with a constant offset (alignment 1: addresses are arbitrary). */
  v128Load: (offset = 0): Code => [0xfd, 0x00, 0, ...uleb(offset)],
  v128Store: (offset = 0): Code => [0xfd, 0x0b, 0, ...uleb(offset)],
  i8x16Splat: [0xfd, 0x0f],
  i8x16Eq: [0xfd, 0x23],
  i8x16LtU: [0xfd, 0x26],
  v128Or: [0xfd, 0x50],
  v128AnyTrue: [0xfd, 0x53],
  i8x16Bitmask: [0xfd, 0x64],
} as const;

export interface WasmFunction {
  name: string;
  params: number[];
  results: number[];
  /** Local variables after the parameters, by type. */
  locals: number[];
  body: Code;
}

/** A module of these functions (each exported under its name) and one exported memory "memory". */
export function wasmModule(fns: WasmFunction[], memoryPages: number): Uint8Array {
  const types = fns.map((f) => [0x60, ...vec(f.params.map((t) => [t])), ...vec(f.results.map((t) => [t]))]);
  const bodies = fns.map((f) => {
    const body = [...vec(f.locals.map((t) => [1, t])), ...f.body, ...op.end];
    return [...uleb(body.length), ...body];
  });
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vec(types)),
    ...section(3, vec(fns.map((_, i) => uleb(i)))),
    ...section(5, vec([[0x00, ...uleb(memoryPages)]])),
    ...section(7, vec([[...name('memory'), 0x02, 0x00], ...fns.map((f, i) => [...name(f.name), 0x00, ...uleb(i)])])),
    ...section(10, vec(bodies)),
  ]);
}
