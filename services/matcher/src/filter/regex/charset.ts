/**
 * Code point sets as sorted, non-overlapping inclusive ranges [lo0, hi0, lo1, hi1, ...].
 *
 * The translator needs exact set algebra (intersection, difference) to rewrite look-arounds and word
 * boundaries, and it must reproduce Python's Unicode-aware \d \w \s, which RE2 only knows as ASCII.
 */
export const MAX_CP = 0x10ffff;

export type Ranges = readonly number[];

export function single(cp: number): Ranges {
  return [cp, cp];
}

export function range(lo: number, hi: number): Ranges {
  return lo <= hi ? [lo, hi] : [];
}

export function normalize(pairs: Array<[number, number]>): Ranges {
  const sorted = pairs.filter(([a, b]) => a <= b).sort((x, y) => x[0] - y[0]);
  const out: number[] = [];
  for (const [lo, hi] of sorted) {
    const n = out.length;
    if (n > 0 && lo <= (out[n - 1] as number) + 1) {
      if (hi > (out[n - 1] as number)) out[n - 1] = hi;
    } else {
      out.push(lo, hi);
    }
  }
  return out;
}

function toPairs(r: Ranges): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = 0; i < r.length; i += 2) out.push([r[i] as number, r[i + 1] as number]);
  return out;
}

export function union(...sets: Ranges[]): Ranges {
  return normalize(sets.flatMap(toPairs));
}

export function complement(r: Ranges): Ranges {
  const out: number[] = [];
  let next = 0;
  for (let i = 0; i < r.length; i += 2) {
    const lo = r[i] as number;
    const hi = r[i + 1] as number;
    if (lo > next) out.push(next, lo - 1);
    next = hi + 1;
  }
  if (next <= MAX_CP) out.push(next, MAX_CP);
  return out;
}

export function intersect(a: Ranges, b: Ranges): Ranges {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const lo = Math.max(a[i] as number, b[j] as number);
    const hi = Math.min(a[i + 1] as number, b[j + 1] as number);
    if (lo <= hi) out.push(lo, hi);
    if ((a[i + 1] as number) < (b[j + 1] as number)) i += 2;
    else j += 2;
  }
  return out;
}

export function subtract(a: Ranges, b: Ranges): Ranges {
  return intersect(a, complement(b));
}

export function isEmpty(r: Ranges): boolean {
  return r.length === 0;
}

export function isSubset(a: Ranges, b: Ranges): boolean {
  return isEmpty(subtract(a, b));
}

export function equals(a: Ranges, b: Ranges): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

export function size(r: Ranges): number {
  let n = 0;
  for (let i = 0; i < r.length; i += 2) n += (r[i + 1] as number) - (r[i] as number) + 1;
  return n;
}

/** The single code point of a one-element set, else undefined. */
export function onlyMember(r: Ranges): number | undefined {
  return r.length === 2 && r[0] === r[1] ? r[0] : undefined;
}

/** Python's str \s: str.isspace() code points (fixed list, Unicode 14). */
export const PY_SPACE: Ranges = normalize([
  [0x09, 0x0d], [0x1c, 0x20], [0x85, 0x85], [0xa0, 0xa0], [0x1680, 0x1680], [0x2000, 0x200a],
  [0x2028, 0x2029], [0x202f, 0x202f], [0x205f, 0x205f], [0x3000, 0x3000],
]);

export const ASCII_WORD: Ranges = normalize([[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]]);
export const NEWLINE: Ranges = single(0x0a);
export const ANY: Ranges = [0, MAX_CP];

/**
 * Python's \w (str.isalnum() or '_') and \d (Unicode Nd), computed from the JS engine's Unicode
 * tables. Computed on first use only (about 0.1 s) since most filters never need set algebra on them.
 */
export interface UnicodeTables {
  word(): Ranges;
  digit(): Ranges;
}

export function createUnicodeTables(): UnicodeTables {
  let word: Ranges | undefined;
  let digit: Ranges | undefined;
  const build = (re: RegExp): Ranges => {
    const pairs: Array<[number, number]> = [];
    let start = -1;
    for (let cp = 0; cp <= MAX_CP + 1; cp++) {
      const inSet = cp <= MAX_CP && !(cp >= 0xd800 && cp <= 0xdfff) && re.test(String.fromCodePoint(cp));
      if (inSet && start < 0) start = cp;
      if (!inSet && start >= 0) {
        pairs.push([start, cp - 1]);
        start = -1;
      }
    }
    return normalize(pairs);
  };
  return {
    word: () => (word ??= build(/^[\p{L}\p{N}_]$/u)),
    digit: () => (digit ??= build(/^\p{Nd}$/u)),
  };
}

/** Code points equal to cp under simple case folding (as RE2's (?i) does, approximately). */
export function caseVariants(cp: number): number[] {
  const s = String.fromCodePoint(cp);
  const out = new Set<number>([cp]);
  for (const v of [s.toLowerCase(), s.toUpperCase()]) {
    if ([...v].length === 1) out.add(v.codePointAt(0) as number);
  }
  // RE2 folds these orbits too (Kelvin sign, long s, ...): keep in sync with its tables for ASCII letters.
  if (cp === 0x6b || cp === 0x4b) out.add(0x212a);
  if (cp === 0x73 || cp === 0x53) out.add(0x17f);
  return [...out];
}

export function caseFold(r: Ranges): Ranges {
  if (size(r) > 4096) {
    // Large sets (negated classes, \w): folding adds letters whose case partner is already present
    // except for a handful; do it per range boundary-free by mapping ASCII and Latin-1 letters only.
    const extra: Array<[number, number]> = [];
    for (const [lo, hi] of toPairs(r)) {
      for (let cp = lo; cp <= Math.min(hi, 0x24f); cp++) for (const v of caseVariants(cp)) extra.push([v, v]);
    }
    return union(r, normalize(extra));
  }
  const pairs: Array<[number, number]> = [];
  for (const [lo, hi] of toPairs(r)) {
    for (let cp = lo; cp <= hi; cp++) for (const v of caseVariants(cp)) pairs.push([v, v]);
  }
  return normalize(pairs);
}

function hex(cp: number): string {
  return `\\x{${cp.toString(16).toUpperCase()}}`;
}

function classChar(cp: number): string {
  if (cp >= 0x30 && cp <= 0x39) return String.fromCharCode(cp);
  if ((cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a)) return String.fromCharCode(cp);
  if (cp === 0x5f || cp === 0x20) return String.fromCharCode(cp);
  return hex(cp);
}

/** Class-safe body (no brackets) listing a set's ranges. */
export function rangesBody(r: Ranges): string {
  let s = '';
  for (const [lo, hi] of toPairs(r)) {
    s += lo === hi ? classChar(lo) : hi === lo + 1 ? classChar(lo) + classChar(hi) : `${classChar(lo)}-${classChar(hi)}`;
  }
  return s;
}

/** RE2 syntax for a set: a bracket class, negated when that is shorter. */
export function emitRanges(r: Ranges): string {
  if (isEmpty(r)) return '[^\\x{0}-\\x{10FFFF}]';
  if (equals(r, ANY)) return '(?s:.)';
  const c = complement(r);
  if (equals(c, NEWLINE)) return '.';
  const pos = rangesBody(r);
  const neg = rangesBody(c);
  if (neg.length < pos.length) return `[^${neg}]`;
  const one = onlyMember(r);
  if (one !== undefined) return literalChar(one);
  return `[${pos}]`;
}

const META = new Set('\\.+*?()|[]{}^$'.split('').map((c) => c.charCodeAt(0)));

/** One literal code point in RE2 syntax. */
export function literalChar(cp: number): string {
  if (META.has(cp)) return `\\${String.fromCharCode(cp)}`;
  if (cp > 0x20 && cp < 0x7f) return String.fromCharCode(cp);
  if (cp === 0x20) return ' ';
  return hex(cp);
}
