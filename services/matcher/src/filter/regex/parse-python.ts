import type { AssertKind, ClassItem, Node } from './ast.js';
import { alt, seq } from './ast.js';

/**
 * Parser for Python `re` syntax (as fail2ban writes its patterns) into our syntax tree.
 *
 * It follows sre_parse where the two dialects differ from RE2: `{,n}` is `{0,n}`, a `{` that does not
 * start a valid repeat is a literal, `$` is "end or before a final newline", \d \w \s \b are
 * Unicode-aware, `(?P=name)` and `\1` are back-references, `(?(name)yes|no)` is a conditional.
 */
export class RegexSyntaxError extends Error {
  constructor(
    message: string,
    readonly construct: string,
    readonly position: number,
  ) {
    super(message);
  }
}

interface Flags {
  i: boolean;
  m: boolean;
  s: boolean;
  x: boolean;
  a: boolean;
}

export interface ParsedRegex {
  root: Node;
  /** Python group number -> name (numbers for unnamed groups). */
  groupNames: Map<number, string>;
  /** Highest capture id used, for further rewrites that copy subtrees. */
  maxId: number;
}

const MAX_REPEAT = Number.POSITIVE_INFINITY;

export interface ParseOptions {
  /** Start with re.MULTILINE (fail2ban compiles failregex so when maxlines > 1). */
  multiline?: boolean;
}

export function parsePythonRegex(pattern: string, opts: ParseOptions = {}): ParsedRegex {
  const p = new Parser(pattern);
  if (opts.multiline) p.setMultiline();
  return p.parse();
}

class Parser {
  private readonly cps: number[];
  private pos = 0;
  private flags: Flags = { i: false, m: false, s: false, x: false, a: false };
  private groupCount = 0;
  private nextId = 1;
  private readonly groupNames = new Map<number, string>();
  private readonly namesSeen = new Set<string>();
  private readonly openGroups = new Set<number>();

  constructor(private readonly src: string) {
    this.cps = [...src].map((c) => c.codePointAt(0) as number);
  }

  setMultiline(): void {
    this.flags.m = true;
  }

  parse(): ParsedRegex {
    this.leadingGlobalFlags();
    const root = this.alternation();
    if (this.pos < this.cps.length) this.fail('unbalanced parenthesis', 'unbalanced parenthesis');
    return { root, groupNames: this.groupNames, maxId: this.nextId - 1 };
  }

  private fail(msg: string, construct: string): never {
    throw new RegexSyntaxError(`${msg} at position ${this.pos}`, construct, this.pos);
  }

  private peek(off = 0): number | undefined {
    return this.cps[this.pos + off];
  }

  private peekStr(s: string): boolean {
    for (let i = 0; i < s.length; i++) if (this.cps[this.pos + i] !== s.charCodeAt(i)) return false;
    return true;
  }

  private eat(s: string): boolean {
    if (!this.peekStr(s)) return false;
    this.pos += s.length;
    return true;
  }

  /** Python allows global flags like (?i) only at the very start (3.11+). */
  private leadingGlobalFlags(): void {
    for (;;) {
      const m = /^\(\?([aiLmsux]+)\)/.exec(this.src.slice(this.strIndex(this.pos)));
      if (!m) return;
      for (const f of m[1] as string) this.setFlag(f, true);
      this.pos += (m[0] as string).length;
    }
  }

  private strIndex(cpPos: number): number {
    let n = 0;
    for (let i = 0; i < cpPos; i++) n += (this.cps[i] as number) > 0xffff ? 2 : 1;
    return n;
  }

  private setFlag(f: string, on: boolean): void {
    if (f === 'i' || f === 'm' || f === 's' || f === 'x' || f === 'a') this.flags[f] = on;
    else if (f === 'u') return;
    else this.fail(`flag ${f} is not supported`, `(?${f}) flag`);
  }

  private skipVerbose(): void {
    if (!this.flags.x) return;
    for (;;) {
      const c = this.peek();
      if (c === undefined) return;
      if (c === 0x20 || (c >= 0x09 && c <= 0x0d)) this.pos++;
      else if (c === 0x23) {
        while (this.peek() !== undefined && this.peek() !== 0x0a) this.pos++;
      } else return;
    }
  }

  private alternation(): Node {
    const branches: Node[] = [this.sequence()];
    while (this.peek() === 0x7c) {
      this.pos++;
      branches.push(this.sequence());
    }
    return alt(branches);
  }

  private sequence(): Node {
    const items: Node[] = [];
    for (;;) {
      this.skipVerbose();
      const c = this.peek();
      if (c === undefined || c === 0x7c || c === 0x29) break;
      const atom = this.atom();
      if (atom === null) continue;
      items.push(this.quantifiers(atom));
    }
    return seq(items);
  }

  private quantifiers(atom: Node): Node {
    let node = atom;
    let repeated = false;
    for (;;) {
      this.skipVerbose();
      const c = this.peek();
      let min: number;
      let max: number;
      if (c === 0x2a) [min, max] = [0, MAX_REPEAT];
      else if (c === 0x2b) [min, max] = [1, MAX_REPEAT];
      else if (c === 0x3f) [min, max] = [0, 1];
      else if (c === 0x7b) {
        const r = this.braces();
        if (!r) return node;
        [min, max] = r;
      } else return node;
      if (c !== 0x7b) this.pos++;
      if (repeated) this.fail('multiple repeat', 'multiple repeat');
      if (node.t === 'assert' || node.t === 'look') this.fail('nothing to repeat', 'repeat of an assertion');
      let lazy = false;
      if (this.peek() === 0x3f) {
        this.pos++;
        lazy = true;
      } else if (this.peek() === 0x2b) {
        this.fail('possessive quantifiers have no RE2 equivalent', 'possessive quantifier');
      }
      if (max < min) this.fail('min repeat greater than max repeat', 'bad repeat range');
      node = { t: 'repeat', body: node, min, max, lazy };
      repeated = true;
    }
  }

  /** `{n}`, `{n,}`, `{,m}`, `{n,m}`, `{,}`; anything else leaves `{` as a literal (sre_parse). */
  private braces(): [number, number] | null {
    const start = this.pos;
    this.pos++;
    if (this.peek() === 0x7d) {
      this.pos = start;
      return null;
    }
    let lo = '';
    let hi = '';
    while (isDigit(this.peek())) lo += String.fromCodePoint(this.cps[this.pos++] as number);
    let comma = false;
    if (this.peek() === 0x2c) {
      comma = true;
      this.pos++;
      while (isDigit(this.peek())) hi += String.fromCodePoint(this.cps[this.pos++] as number);
    } else hi = lo;
    if (this.peek() !== 0x7d) {
      this.pos = start;
      return null;
    }
    this.pos++;
    const min = lo ? Number(lo) : 0;
    const max = hi ? Number(hi) : comma ? MAX_REPEAT : min;
    return [min, max];
  }

  private atom(): Node | null {
    const c = this.cps[this.pos++] as number;
    switch (c) {
      case 0x28:
        return this.group();
      case 0x5b:
        return this.charClass();
      case 0x2e:
        return this.flags.s
          ? { t: 'cls', items: [], neg: true, icase: false }
          : { t: 'cls', items: [{ k: 'range', lo: 10, hi: 10 }], neg: true, icase: false };
      case 0x5e:
        return { t: 'assert', kind: this.flags.m ? 'bol-m' : 'bol' };
      case 0x24:
        return { t: 'assert', kind: this.flags.m ? 'eol-m' : 'eol' };
      case 0x5c:
        return this.escape();
      case 0x2a:
      case 0x2b:
      case 0x3f:
        return this.fail('nothing to repeat', 'nothing to repeat');
      case 0x7b: {
        this.pos--;
        if (this.braces()) this.fail('nothing to repeat', 'nothing to repeat');
        this.pos++;
        return this.lit(c);
      }
      default:
        return this.lit(c);
    }
  }

  private lit(cp: number): Node {
    return { t: 'char', cp, icase: this.flags.i };
  }

  private group(): Node | null {
    if (!this.eat('?')) return this.capture(undefined);
    if (this.eat('P<') || (this.peek() === 0x3c && this.peek(1) !== 0x3d && this.peek(1) !== 0x21 && this.eat('<'))) {
      return this.capture(this.groupName(0x3e));
    }
    if (this.eat('P=')) {
      const name = this.groupName(0x29);
      return this.backref(name);
    }
    if (this.eat(':')) return this.withFlags({}, () => ({ t: 'group', body: this.alternationClosed() }));
    if (this.eat('#')) {
      while (this.peek() !== undefined && this.peek() !== 0x29) this.pos++;
      if (!this.eat(')')) this.fail('missing ), unterminated comment', 'unterminated comment');
      return null;
    }
    if (this.eat('=')) return { t: 'look', behind: false, neg: false, body: this.alternationClosed() };
    if (this.eat('!')) return { t: 'look', behind: false, neg: true, body: this.alternationClosed() };
    if (this.eat('<=')) return { t: 'look', behind: true, neg: false, body: this.alternationClosed() };
    if (this.eat('<!')) return { t: 'look', behind: true, neg: true, body: this.alternationClosed() };
    if (this.eat('>')) this.fail('atomic groups have no RE2 equivalent', 'atomic group (?>...)');
    if (this.eat('(')) {
      const name = this.groupName(0x29);
      const ref = /^\d+$/.test(name) ? this.groupNames.get(Number(name)) : name;
      if (ref === undefined || !this.namesSeen.has(ref)) this.fail(`unknown group name '${name}'`, 'conditional on unknown group');
      const body = this.alternationClosed();
      const yes = body.t === 'alt' ? (body.items[0] as Node) : body;
      const no = body.t === 'alt' ? seqOfAlt(body.items.slice(1)) : seq([]);
      if (body.t === 'alt' && body.items.length > 2) this.fail('conditional backref with more than two branches', 'conditional with more than two branches');
      return { t: 'cond', name: ref, yes, no };
    }
    // Inline flags: (?aiLmsux-imsx:...) local, or global (?i) which Python only allows at the start.
    const m = /^([aiLmsux]*)(?:-([imsx]+))?([:)])/.exec(this.src.slice(this.strIndex(this.pos)));
    if (!m) this.fail('unknown extension', 'unknown group extension');
    const on = m[1] as string;
    const off = m[2] ?? '';
    this.pos += [...(m[0] as string)].length;
    if (m[3] === ')') this.fail('global flags not at the start of the expression', `(?${on}) flag not at the start`);
    const set: Partial<Flags> = {};
    for (const f of on) if (f !== 'u') set[f as keyof Flags] = true;
    for (const f of off) set[f as keyof Flags] = false;
    if (on.includes('L')) this.fail('locale flag is not supported', '(?L) flag');
    return this.withFlags(set, () => ({ t: 'group', body: this.alternationClosed() }));
  }

  private withFlags(set: Partial<Flags>, f: () => Node): Node {
    const saved = this.flags;
    this.flags = { ...saved, ...set };
    try {
      return f();
    } finally {
      this.flags = saved;
    }
  }

  private alternationClosed(): Node {
    const body = this.withFlags({}, () => this.alternation());
    if (!this.eat(')')) this.fail('missing ), unterminated subpattern', 'unterminated subpattern');
    return body;
  }

  private capture(name: string | undefined): Node {
    const num = ++this.groupCount;
    const pyName = name ?? String(num);
    if (name !== undefined) {
      if (this.namesSeen.has(name)) this.fail(`redefinition of group name '${name}'`, 'duplicate group name');
      this.namesSeen.add(name);
    } else this.namesSeen.add(pyName);
    this.groupNames.set(num, pyName);
    this.openGroups.add(num);
    const body = this.alternationClosed();
    this.openGroups.delete(num);
    return { t: 'cap', id: this.nextId++, name: pyName, body };
  }

  private groupName(term: number): string {
    let s = '';
    while (this.peek() !== undefined && this.peek() !== term) s += String.fromCodePoint(this.cps[this.pos++] as number);
    if (this.peek() !== term) this.fail('missing group name terminator', 'bad group name');
    this.pos++;
    if (!/^(?:[\p{L}_][\p{L}\p{N}_]*|\d+)$/u.test(s)) this.fail(`bad character in group name '${s}'`, 'bad group name');
    return s;
  }

  private backref(name: string): Node {
    if (!this.namesSeen.has(name)) this.fail(`unknown group name '${name}'`, 'back-reference to unknown group');
    const num = [...this.groupNames.entries()].find(([, n]) => n === name)?.[0];
    if (num !== undefined && this.openGroups.has(num)) this.fail('cannot refer to an open group', 'back-reference to an open group');
    return { t: 'backref', name };
  }

  private escape(): Node {
    const c = this.cps[this.pos++];
    if (c === undefined) this.fail('bad escape (end of pattern)', 'trailing backslash');
    const ch = String.fromCodePoint(c);
    const cls = (k: 'digit' | 'word' | 'space', neg: boolean): Node => this.shorthand(k, neg);
    switch (ch) {
      case 'd':
        return cls('digit', false);
      case 'D':
        return cls('digit', true);
      case 'w':
        return cls('word', false);
      case 'W':
        return cls('word', true);
      case 's':
        return cls('space', false);
      case 'S':
        return cls('space', true);
      case 'b':
        return this.assertion(this.flags.a ? 'wb' : 'wb');
      case 'B':
        return this.assertion('nwb');
      case 'A':
        return this.assertion('A');
      case 'Z':
        return this.assertion('z');
      default:
        break;
    }
    if (c >= 0x31 && c <= 0x37 && isOctal(this.peek()) && isOctal(this.peek(1))) {
      // sre_parse: three octal digits are a character, not a group reference.
      const v = (c - 0x30) * 64 + ((this.cps[this.pos] as number) - 0x30) * 8 + ((this.cps[this.pos + 1] as number) - 0x30);
      this.pos += 2;
      if (v > 0o377) this.fail('octal escape value outside of range 0-0o377', 'octal escape out of range');
      return this.lit(v);
    }
    if (c >= 0x31 && c <= 0x39) {
      let digits = ch;
      if (isDigit(this.peek())) digits += String.fromCodePoint(this.cps[this.pos++] as number);
      const name = this.groupNames.get(Number(digits));
      if (name === undefined) this.fail(`invalid group reference ${digits}`, 'back-reference to unknown group');
      return this.backref(name);
    }
    return this.lit(this.escapedCodePoint(c, false));
  }

  private assertion(kind: AssertKind): Node {
    if (this.flags.a && (kind === 'wb' || kind === 'nwb')) this.fail('ASCII-only word boundary', '(?a) with \\b');
    return { t: 'assert', kind };
  }

  private shorthand(k: 'digit' | 'word' | 'space', neg: boolean): Node {
    if (this.flags.a && k !== 'space') {
      const ranges: ClassItem[] =
        k === 'digit'
          ? [{ k: 'range', lo: 0x30, hi: 0x39 }]
          : [
              { k: 'range', lo: 0x30, hi: 0x39 },
              { k: 'range', lo: 0x41, hi: 0x5a },
              { k: 'range', lo: 0x5f, hi: 0x5f },
              { k: 'range', lo: 0x61, hi: 0x7a },
            ];
      return { t: 'cls', items: ranges, neg, icase: false };
    }
    return { t: 'cls', items: [{ k, neg }], neg: false, icase: false };
  }

  /** Escapes that stand for one code point (shared by classes and plain text). */
  private escapedCodePoint(c: number, inClass: boolean): number {
    const ch = String.fromCodePoint(c);
    const simple: Record<string, number> = { n: 10, t: 9, r: 13, f: 12, v: 11, a: 7 };
    if (simple[ch] !== undefined) return simple[ch];
    if (inClass && ch === 'b') return 8;
    if (ch === 'x') return this.hexDigits(2);
    if (ch === 'u') return this.hexDigits(4);
    if (ch === 'U') return this.hexDigits(8);
    if (ch === '0' || (inClass && c >= 0x30 && c <= 0x37)) {
      let v = c - 0x30;
      for (let i = 0; i < 2 && isOctal(this.peek()); i++) v = v * 8 + ((this.cps[this.pos++] as number) - 0x30);
      return v;
    }
    if (ch === 'N') this.fail('named Unicode escapes are not supported', '\\N{...} escape');
    if (/[A-Za-z0-9]/.test(ch)) this.fail(`bad escape \\${ch}`, `\\${ch} escape`);
    return c;
  }

  private hexDigits(n: number): number {
    let s = '';
    for (let i = 0; i < n; i++) {
      const d = this.peek();
      if (d === undefined || !/[0-9a-fA-F]/.test(String.fromCodePoint(d))) this.fail('incomplete escape', 'incomplete \\x/\\u escape');
      s += String.fromCodePoint(d);
      this.pos++;
    }
    const v = parseInt(s, 16);
    if (v > 0x10ffff) this.fail('bad escape', 'code point out of range');
    return v;
  }

  private charClass(): Node {
    const items: ClassItem[] = [];
    const neg = this.eat('^');
    let first = true;
    for (;;) {
      const c = this.peek();
      if (c === undefined) this.fail('unterminated character set', 'unterminated character set');
      if (c === 0x5d && !first) {
        this.pos++;
        break;
      }
      first = false;
      const lo = this.classAtom();
      if (typeof lo !== 'number') {
        items.push(lo);
        continue;
      }
      if (this.peek() === 0x2d && this.peek(1) !== 0x5d && this.peek(1) !== undefined) {
        this.pos++;
        const hi = this.classAtom();
        if (typeof hi !== 'number') this.fail('bad character range', 'bad character range');
        if (hi < lo) this.fail('bad character range', 'bad character range');
        items.push({ k: 'range', lo, hi });
      } else items.push({ k: 'range', lo, hi: lo });
    }
    return { t: 'cls', items, neg, icase: this.flags.i };
  }

  private classAtom(): number | ClassItem {
    const c = this.cps[this.pos++] as number;
    if (c !== 0x5c) return c;
    const e = this.cps[this.pos++];
    if (e === undefined) this.fail('bad escape (end of pattern)', 'trailing backslash');
    const ch = String.fromCodePoint(e);
    const sh = { d: 'digit', w: 'word', s: 'space' } as const;
    const lower = ch.toLowerCase() as keyof typeof sh;
    if (lower in sh && (ch === lower || ch === lower.toUpperCase())) {
      const node = this.shorthand(sh[lower], ch !== lower);
      if (node.t === 'cls' && node.items.length === 1 && !node.neg) return node.items[0] as ClassItem;
      if (node.t === 'cls' && !node.neg) {
        this.fail('ASCII-only class inside a set', '(?a) shorthand inside a set');
      }
    }
    return this.escapedCodePoint(e, true);
  }
}

function seqOfAlt(items: Node[]): Node {
  return alt(items);
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

function isOctal(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x37;
}
