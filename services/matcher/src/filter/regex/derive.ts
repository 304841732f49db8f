import type { Node } from './ast.js';
import { nullable, renumber } from './ast.js';
import type { Ranges, UnicodeTables } from './charset.js';
import { ANY, equals, intersect, isEmpty, isSubset, NEWLINE, subtract } from './charset.js';
import { nodeRanges } from './class-ranges.js';
import { UnsupportedConstruct } from './emit-re2.js';
import type { Token } from './tokens.js';
import { flatten } from './tokens.js';

/**
 * Look-ahead elimination by derivatives. A pending look-ahead is a set of paths (sequences of
 * character sets and zero-width checks); each character the pattern consumes after it is split into
 * cells on which every path either advances or dies, so the look-ahead is decided after at most as
 * many characters as its longest path, and the result needs no look-ahead. Alternations and
 * repetitions met on the way are expanded in the order a backtracking engine tries them, so the
 * rewritten pattern prefers the same match (and captures) as Python.
 */
export type PathItem = { k: 'set'; r: Ranges } | { k: 'wb' } | { k: 'nwb' } | { k: 'eol' };

export interface Constraint {
  neg: boolean;
  paths: PathItem[][];
}

export interface State {
  cons: Constraint[];
  /** Whether the last consumed character is a word character (undefined: not known statically). */
  prevWord: boolean | undefined;
}

export interface Out {
  head: Token[];
  /** Index into the token list derive was given: the output continues with tokens[tail..]. */
  tail: number;
}

/** The previous character's word-ness is needed but cannot be known from the pattern. */
export class NeedPrevWord extends Error {}

/** In local mode: a look-ahead is still open at the end of the sub-pattern being rewritten. */
export class LocalUnresolved extends Error {}

const MAX_PATHS = 256;

export interface DeriveContext {
  tables: UnicodeTables;
  nextId: () => number;
  /** Work budget (tokens produced): bounds the size of rewritten patterns. */
  budget: { left: number };
}

export function pathsOf(body: Node, tables: UnicodeTables): PathItem[][] {
  const r = paths(body);
  if (r.length > MAX_PATHS) throw new UnsupportedConstruct('look-ahead with too many alternatives');
  return r;

  function paths(n: Node): PathItem[][] {
    switch (n.t) {
      case 'empty':
        return [[]];
      case 'char':
      case 'cls':
      case 'set':
        return [[{ k: 'set', r: nodeRanges(n, tables) }]];
      case 'seq': {
        let acc: PathItem[][] = [[]];
        for (const it of n.items) {
          const p = paths(it);
          acc = acc.flatMap((a) => p.map((b) => [...a, ...b]));
          if (acc.length > MAX_PATHS) throw new UnsupportedConstruct('look-ahead with too many alternatives');
        }
        return acc;
      }
      case 'alt':
        return n.items.flatMap(paths);
      case 'group':
        return paths(n.body);
      case 'repeat': {
        if (n.max === Number.POSITIVE_INFINITY || n.max > 16) {
          throw new UnsupportedConstruct('look-ahead containing an unbounded repetition');
        }
        const body = paths(n.body);
        let acc: PathItem[][] = [[]];
        const out: PathItem[][] = [];
        for (let k = 0; k <= n.max; k++) {
          if (k >= n.min) out.push(...acc);
          acc = acc.flatMap((a) => body.map((b) => [...a, ...b]));
          if (acc.length > MAX_PATHS) throw new UnsupportedConstruct('look-ahead with too many alternatives');
        }
        return out;
      }
      case 'assert':
        if (n.kind === 'wb') return [[{ k: 'wb' }]];
        if (n.kind === 'nwb') return [[{ k: 'nwb' }]];
        if (n.kind === 'eol' || n.kind === 'z') return [[{ k: 'eol' }]];
        throw new UnsupportedConstruct(`${n.kind} assertion inside a look-ahead`);
      case 'cap':
        throw new UnsupportedConstruct('capturing group inside a look-ahead');
      default:
        throw new UnsupportedConstruct(`${n.t} inside a look-ahead`);
    }
  }
}

export class Deriver {
  /** local: rewrite a sub-pattern in place; reaching its end undecided is an error, not a guard. */
  constructor(
    private readonly ctx: DeriveContext,
    private readonly local = false,
  ) {}

  /** Start a constraint; returns 'dead' if it already fails (empty negative body). */
  addConstraint(st: State, c: Constraint): State | 'dead' {
    return this.settle({ cons: [...st.cons, c], prevWord: st.prevWord });
  }

  lookPaths(body: Node): PathItem[][] {
    return pathsOf(body, this.ctx.tables);
  }

  /** Outputs replacing T[p..] where T[p] is a look-ahead or a word-boundary assertion. */
  startAt(T: readonly Token[], p: number, prevWord: boolean | undefined): Out[] {
    const t = T[p];
    if (!t || t.k !== 'node') throw new Error('startAt needs a node token');
    const n = t.n;
    const empty: State = { cons: [], prevWord };
    let st: State | 'dead';
    if (n.t === 'look') {
      if (n.behind) throw new UnsupportedConstruct(n.neg ? 'negative look-behind (?<!...)' : 'look-behind (?<=...)');
      st = this.addConstraint(empty, { neg: n.neg, paths: this.lookPaths(n.body) });
    } else if (n.t === 'assert' && (n.kind === 'wb' || n.kind === 'nwb')) {
      st = this.addConstraint(empty, { neg: false, paths: [[{ k: n.kind }]] });
    } else throw new Error('startAt needs a look-ahead or \\b');
    return st === 'dead' ? [] : this.derive(st, T, p + 1);
  }

  derive(st: State, T: readonly Token[], i: number, depth = 0): Out[] {
    if (st.cons.length === 0) return [{ head: [], tail: i }];
    if (--this.ctx.budget.left < 0) throw new UnsupportedConstruct('look-around whose RE2 rewrite is too large');
    if (depth > 64) throw new UnsupportedConstruct('look-ahead that a repetition keeps open');
    if (i >= T.length && this.local) throw new LocalUnresolved();
    if (i >= T.length) return this.guard(st).map((head) => ({ head, tail: T.length }));
    const t = T[i] as Token;
    if (t.k !== 'node') return this.prefix(t, this.derive(st, T, i + 1, depth));
    const n = t.n;
    switch (n.t) {
      case 'char':
      case 'cls':
      case 'set': {
        const all = nodeRanges(n, this.ctx.tables);
        const out: Out[] = [];
        for (const cell of this.cells(all, st)) {
          const next = this.step(st, cell);
          if (next === 'dead') continue;
          const node: Node = equals(cell, all) ? n : { t: 'set', ranges: cell };
          out.push(...this.prefix({ k: 'node', n: node }, this.derive(next, T, i + 1, depth)));
        }
        return out;
      }
      case 'assert': {
        if (n.kind === 'wb' || n.kind === 'nwb') {
          const next = this.addConstraint(st, { neg: false, paths: [[{ k: n.kind }]] });
          return next === 'dead' ? [] : this.derive(next, T, i + 1, depth);
        }
        return this.prefix(t, this.derive(st, T, i + 1, depth));
      }
      case 'look': {
        if (n.behind) throw new UnsupportedConstruct(n.neg ? 'negative look-behind (?<!...)' : 'look-behind (?<=...)');
        const next = this.addConstraint(st, { neg: n.neg, paths: this.lookPaths(n.body) });
        return next === 'dead' ? [] : this.derive(next, T, i + 1, depth);
      }
      case 'alt':
        return n.items.flatMap((b) => this.splice(st, T, i, flatten(b), depth));
      case 'repeat': {
        if (n.max === 0) return this.derive(st, T, i + 1, depth);
        if (nullable(n.body)) throw new UnsupportedConstruct('look-ahead before a repetition that can match empty');
        const more: Token[] =
          n.max - 1 > 0 ? [{ k: 'node', n: { ...n, body: renumber(n.body, this.ctx.nextId), min: Math.max(0, n.min - 1), max: n.max - 1 } }] : [];
        const iterate = [...flatten(n.body), ...more];
        if (n.min > 0) return this.splice(st, T, i, iterate, depth + 1);
        const a = () => this.splice(st, T, i, iterate, depth + 1);
        const b = () => this.derive(st, T, i + 1, depth);
        return n.lazy ? [...b(), ...a()] : [...a(), ...b()];
      }
      default:
        throw new UnsupportedConstruct(`${n.t} after a look-ahead`);
    }
  }

  /** Derive over `replacement` followed by T[i+1..]; tails are mapped back to indexes into T. */
  private splice(st: State, T: readonly Token[], i: number, replacement: Token[], depth: number): Out[] {
    const sub = [...replacement, ...T.slice(i + 1)];
    const blen = replacement.length;
    return this.derive(st, sub, 0, depth).map((o) =>
      o.tail >= blen ? { head: o.head, tail: i + 1 + (o.tail - blen) } : { head: [...o.head, ...sub.slice(o.tail, blen)], tail: i + 1 },
    );
  }

  private prefix(t: Token, outs: Out[]): Out[] {
    return outs.map((o) => ({ head: [t, ...o.head], tail: o.tail }));
  }

  /** Past the end of the pattern: consume just enough of the following text to decide. */
  private guard(st: State): Token[][] {
    const out: Token[][] = [];
    for (const cell of this.cells(ANY, st)) {
      const next = this.step(st, cell);
      if (next === 'dead') continue;
      const tok: Token = { k: 'node', n: { t: 'set', ranges: cell } };
      if (next.cons.length === 0) out.push([tok]);
      else for (const rest of this.guard(next)) out.push([tok, ...rest]);
      if (--this.ctx.budget.left < 0) throw new UnsupportedConstruct('look-around whose RE2 rewrite is too large');
    }
    if (this.okAtEnd(st)) out.push([{ k: 'node', n: { t: 'assert', kind: 'z' } }]);
    return out;
  }

  /** Split a consumed set so that every path either advances or dies on each cell. */
  private cells(all: Ranges, st: State): Ranges[] {
    let cells: Ranges[] = [all];
    const refine = (s: Ranges): void => {
      cells = cells.flatMap((c) => [intersect(c, s), subtract(c, s)].filter((x) => !isEmpty(x)));
    };
    let needWord = false;
    let needNl = false;
    for (const c of st.cons) {
      for (const p of c.paths) {
        const firstSet = p.find((it) => it.k === 'set');
        if (firstSet && firstSet.k === 'set') refine(firstSet.r);
        if (p.some((it) => it.k === 'wb' || it.k === 'nwb')) needWord = true;
        if (p.some((it) => it.k === 'eol')) needNl = true;
      }
    }
    if (needWord) refine(this.ctx.tables.word());
    if (needNl) refine(NEWLINE);
    return cells;
  }

  private wordness(cell: Ranges): boolean | undefined {
    const w = this.ctx.tables.word();
    if (isSubset(cell, w)) return true;
    if (isEmpty(intersect(cell, w))) return false;
    return undefined;
  }

  /** Evaluate leading zero-width items against the next character (or end of text). */
  private zeroWidth(path: PathItem[], prevWord: boolean | undefined, next: Ranges | 'end'): PathItem[] | undefined {
    let p = path;
    while (p.length > 0 && (p[0] as PathItem).k !== 'set') {
      const it = p[0] as PathItem;
      if (it.k === 'eol') {
        if (next !== 'end' && !equals(next, NEWLINE)) return undefined;
      } else {
        if (prevWord === undefined) throw new NeedPrevWord();
        const nextWord = next === 'end' ? false : this.wordness(next);
        if (nextWord === undefined) throw new NeedPrevWord();
        const boundary = prevWord !== nextWord;
        if ((it.k === 'wb') !== boundary) return undefined;
      }
      p = p.slice(1);
    }
    return p;
  }

  private step(st: State, cell: Ranges): State | 'dead' {
    const cons: Constraint[] = [];
    for (const c of st.cons) {
      let completed = false;
      const paths: PathItem[][] = [];
      for (const path of c.paths) {
        const p = this.zeroWidth(path, st.prevWord, cell);
        if (p === undefined) continue;
        if (p.length === 0) {
          completed = true;
          continue;
        }
        const head = p[0] as Extract<PathItem, { k: 'set' }>;
        if (!isSubset(cell, head.r)) continue;
        const rest = p.slice(1);
        if (rest.length === 0) completed = true;
        else paths.push(rest);
      }
      if (completed) {
        if (c.neg) return 'dead';
        continue;
      }
      if (paths.length === 0) {
        if (c.neg) continue;
        return 'dead';
      }
      cons.push({ neg: c.neg, paths });
    }
    return { cons, prevWord: this.wordness(cell) };
  }

  /** Drop constraints already decided before consuming anything (empty paths). */
  private settle(st: State): State | 'dead' {
    const cons: Constraint[] = [];
    for (const c of st.cons) {
      if (c.paths.some((p) => p.length === 0)) {
        if (c.neg) return 'dead';
        continue;
      }
      if (c.paths.length === 0) {
        if (c.neg) continue;
        return 'dead';
      }
      cons.push(c);
    }
    return { cons, prevWord: st.prevWord };
  }

  private okAtEnd(st: State): boolean {
    for (const c of st.cons) {
      const done = c.paths.some((path) => {
        const p = this.zeroWidth(path, st.prevWord, 'end');
        return p !== undefined && p.length === 0;
      });
      if (done === c.neg) return false;
    }
    return true;
  }
}
