import type { ClassItem, Node } from './ast.js';
import type { UnicodeTables } from './charset.js';
import type { Ranges } from './charset.js';
import { ANY, complement, emitRanges, intersect, rangesBody, isEmpty, isSubset, literalChar, onlyMember, NEWLINE, PY_SPACE, size, subtract, union } from './charset.js';
import { nodeRanges } from './class-ranges.js';

/** Thrown when a construct survived the rewrites that RE2 cannot express. */
export class UnsupportedConstruct extends Error {
  constructor(readonly construct: string) {
    super(`${construct} has no RE2 equivalent here`);
  }
}

export interface EmitResult {
  source: string;
  /** RE2 group name (g<id>) -> Python group name, in pattern order. */
  groups: Array<{ re2: string; name: string }>;
  /** An ASCII-only \b was emitted: exact only while the word characters around it are ASCII. */
  asciiBoundary: boolean;
}

export interface EmitOptions {
  /**
   * Emit for ASCII-only subject text: every character set is cut to its ASCII part. Exact on text
   * without non-ASCII characters (nothing outside ASCII can occur there), and the RE2 program is a
   * fraction of the Unicode one, which makes capture extraction several times cheaper.
   */
  ascii?: boolean;
}

const ASCII: Ranges = [0, 0x7f];

/** An ASCII set as an RE2 class that cannot match anything outside ASCII (no negated form). */
function emitAsciiRanges(r: Ranges): string {
  const one = onlyMember(r);
  if (one !== undefined) return literalChar(one);
  return `[${rangesBody(r)}]`;
}

/**
 * RE2 syntax for a rewritten tree. \d \w \s become their Unicode forms (Python semantics); `$` is
 * emitted as a multi-line end because the matcher always appends the one newline fail2ban appends.
 */
export function emitRe2(root: Node, tables: UnicodeTables, keepNumbered: ReadonlySet<string> = new Set(), opts: EmitOptions = {}): EmitResult {
  const groups: Array<{ re2: string; name: string }> = [];
  let asciiBoundary = false;

  const emit = (n: Node, prec: number): string => {
    if (opts.ascii && (n.t === 'char' || n.t === 'cls' || n.t === 'set')) {
      const r = intersect(nodeRanges(n, tables), ASCII);
      return isEmpty(r) ? '[^\\x{0}-\\x{10FFFF}]' : emitAsciiRanges(r);
    }
    switch (n.t) {
      case 'empty':
        return '';
      case 'char': {
        const s = literalChar(n.cp);
        return n.icase && hasCase(n.cp) ? `(?i:${s})` : s;
      }
      case 'cls': {
        const s = emitClass(n.items, n.neg, tables);
        return n.icase ? `(?i:${s})` : s;
      }
      case 'set':
        return emitSet(n.ranges, tables);
      case 'seq': {
        const s = n.items.map((c) => emit(c, 2)).join('');
        return prec > 2 ? `(?:${s})` : s;
      }
      case 'alt': {
        const s = n.items.map((c) => emit(c, 1)).join('|');
        return prec > 1 ? `(?:${s})` : s;
      }
      case 'cap': {
        if (/^\d+$/.test(n.name) && !keepNumbered.has(n.name)) return `(?:${emit(n.body, 0)})`;
        const re2 = `g${n.id}`;
        groups.push({ re2, name: n.name });
        return `(?P<${re2}>${emit(n.body, 0)})`;
      }
      case 'group':
        return `(?:${emit(n.body, 0)})`;
      case 'repeat': {
        if (n.min > 1000 || (n.max !== Number.POSITIVE_INFINITY && n.max > 1000)) {
          throw new UnsupportedConstruct(`repeat count above 1000 ({${n.min},${n.max}})`);
        }
        const body = emit(n.body, 3);
        const q =
          n.min === 0 && n.max === Number.POSITIVE_INFINITY
            ? '*'
            : n.min === 1 && n.max === Number.POSITIVE_INFINITY
              ? '+'
              : n.min === 0 && n.max === 1
                ? '?'
                : n.max === Number.POSITIVE_INFINITY
                  ? `{${n.min},}`
                  : n.min === n.max
                    ? `{${n.min}}`
                    : `{${n.min},${n.max}}`;
        const s = `${body === '' ? '(?:)' : body}${q}${n.lazy ? '?' : ''}`;
        return prec > 2 ? `(?:${s})` : s;
      }
      case 'assert':
        switch (n.kind) {
          case 'bol':
          case 'A':
            return '\\A';
          case 'eol':
          case 'eol-m':
            return '(?m:$)';
          case 'bol-m':
            return '(?m:^)';
          case 'z':
            return '\\z';
          case 'wb':
            asciiBoundary = true;
            return '\\b';
          case 'nwb':
            asciiBoundary = true;
            return '\\B';
        }
        break;
      case 'look':
        throw new UnsupportedConstruct(n.behind ? (n.neg ? 'negative look-behind (?<!...)' : 'look-behind (?<=...)') : n.neg ? 'negative look-ahead (?!...)' : 'look-ahead (?=...)');
      case 'backref':
        throw new UnsupportedConstruct(`back-reference (?P=${n.name})`);
      case 'cond':
        throw new UnsupportedConstruct(`conditional (?(${n.name})...)`);
    }
    return '';
  };
  const source = emit(root, 0);
  return { source, groups, asciiBoundary };

  function hasCase(cp: number): boolean {
    const s = String.fromCodePoint(cp);
    return s.toLowerCase() !== s.toUpperCase();
  }
}

function emitClass(items: ClassItem[], neg: boolean, tables: UnicodeTables): string {
  if (items.length === 0) return neg ? '(?s:.)' : '[^\\x{0}-\\x{10FFFF}]';
  if (items.length === 1 && items[0]?.k === 'range' && items[0].lo === 10 && items[0].hi === 10 && neg) return '.';
  // Negated \w or \S inside a set cannot be written as an RE2 union item: fall back to exact ranges.
  const needsRanges = items.some((it) => (it.k === 'word' || it.k === 'space') && it.neg);
  if (needsRanges) return emitRanges(nodeRanges({ t: 'cls', items, neg, icase: false }, tables));
  let body = '';
  for (const it of items) {
    switch (it.k) {
      case 'range':
        body += it.lo === it.hi ? classLiteral(it.lo) : `${classLiteral(it.lo)}-${classLiteral(it.hi)}`;
        break;
      case 'digit':
        body += it.neg ? '\\P{Nd}' : '\\p{Nd}';
        break;
      case 'word':
        body += '\\p{L}\\p{N}_';
        break;
      case 'space':
        body += spaceBody();
        break;
    }
  }
  if (!neg && items.length === 1 && items[0]?.k === 'digit') return body;
  return `[${neg ? '^' : ''}${body}]`;
}

function spaceBody(): string {
  const r = emitRanges(PY_SPACE);
  return r.slice(1, -1);
}

function classLiteral(cp: number): string {
  if ((cp >= 0x30 && cp <= 0x39) || (cp >= 0x41 && cp <= 0x5a) || (cp >= 0x61 && cp <= 0x7a)) return String.fromCharCode(cp);
  return `\\x{${cp.toString(16).toUpperCase()}}`;
}


/**
 * A rewritten set in short RE2 form: "known class minus a few characters" where possible, since
 * Unicode \w written as ranges is several kilobytes and derivation produces many such cells.
 */
export function emitSet(r: Ranges, tables: UnicodeTables): string {
  const w = tables.word();
  const d = tables.digit();
  const sp = spaceBody();
  const candidates: Array<{ set: Ranges; emit: (minus: string) => string }> = [
    { set: w, emit: (m) => `(?:[^\\P{L}${m}]|[^\\P{N}${m}]${m.includes('_') ? '' : '|_'})` },
    { set: complement(w), emit: (m) => `[^\\p{L}\\p{N}_${m}]` },
    { set: complement(PY_SPACE), emit: (m) => `[^${sp}${m}]` },
    { set: complement(union(w, PY_SPACE)), emit: (m) => `[^\\p{L}\\p{N}_${sp}${m}]` },
    { set: d, emit: (m) => `[^\\P{Nd}${m}]` },
    { set: complement(d), emit: (m) => `[^\\p{Nd}${m}]` },
    { set: complement(NEWLINE), emit: (m) => `[^\\n${m}]` },
    { set: ANY, emit: (m) => `[^${m}]` },
  ];
  const plain = emitRanges(r);
  if (plain.length <= 64) return plain;
  for (const c of candidates) {
    if (!isSubset(r, c.set)) continue;
    const minus = subtract(c.set, r);
    if (size(minus) > 64) continue;
    if (size(minus) === 0 && c.set === ANY) return '(?s:.)';
    return c.emit(rangesBody(minus));
  }
  return plain;
}
