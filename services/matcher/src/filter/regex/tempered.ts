import type { Node } from './ast.js';
import type { Ranges, UnicodeTables } from './charset.js';
import { intersect, isEmpty, isSubset, NEWLINE, subtract, union } from './charset.js';
import { isCharNode, nodeRanges } from './class-ranges.js';
import type { PathItem } from './derive.js';
import { pathsOf } from './derive.js';
import { UnsupportedConstruct } from './emit-re2.js';
import type { Token } from './tokens.js';

/**
 * The "tempered token" `(?:(?!B)C)*` (greedy or lazy; C one character class, B a fixed-length
 * look-ahead): "C characters, none of which starts a B". RE2 cannot look ahead, but when what follows
 * forces where the run ends, the run is unique and any regex for the same language is exact:
 *  - followed by text that always begins with a B (`... from <HOST>` after `(?:(?! from ).)*?`):
 *    the run ends at the first B;
 *  - followed by `$`, with C excluding newline: the run ends at the line end.
 * The language is built as a small automaton (which partial B matches are open) and turned into a
 * regex by state elimination.
 */
type SetPath = Ranges[];

export function temperedReplacement(rep: Extract<Node, { t: 'repeat' }>, T: readonly Token[], p: number, tables: UnicodeTables): Node | undefined {
  if (rep.min !== 0 || rep.max !== Number.POSITIVE_INFINITY) return undefined;
  const parts = unwrapSeq(rep.body);
  if (parts.length !== 2) return undefined;
  const [look, atom] = parts as [Node, Node];
  if (look.t !== 'look' || look.behind || !look.neg || !isCharNode(atom)) return undefined;
  const raw = pathsOf(look.body, tables);
  if (raw.some((path) => path.length === 0 || path.some((it: PathItem) => it.k !== 'set'))) return undefined;
  const paths: SetPath[] = raw.map((path) => path.map((it) => (it as Extract<PathItem, { k: 'set' }>).r));
  const C = nodeRanges(atom, tables);

  const follow = analyseFollow(T, p, tables);
  let accept: (s: State) => boolean;
  if (follow.kind === 'literal' && paths.some((path) => path.length <= follow.sets.length && path.every((r, k) => isSubset(follow.sets[k] as Ranges, r)))) {
    accept = (s) => s.every(([pi, pos]) => !completesOn(paths[pi] as SetPath, pos, follow.sets));
  } else if (follow.kind === 'eol' && isEmpty(intersect(C, NEWLINE))) {
    accept = (s) => s.every(([pi, pos]) => !completesOn(paths[pi] as SetPath, pos, [NEWLINE], true));
  } else {
    return undefined;
  }

  let cells: Ranges[] = [C];
  for (const path of paths) for (const r of path) cells = cells.flatMap((c) => [intersect(c, r), subtract(c, r)].filter((x) => !isEmpty(x)));

  const keyOf = (s: State): string => s.map(([a, b]) => `${a}:${b}`).join(',');
  const states: State[] = [[]];
  const index = new Map<string, number>([['', 0]]);
  const edges: Array<Map<number, Ranges>> = [];
  for (let si = 0; si < states.length; si++) {
    const s = states[si] as State;
    const out = new Map<number, Ranges>();
    for (const cell of cells) {
      const cand: State = [...s, ...paths.map((_, pi) => [pi, 0] as [number, number])];
      const next: State = [];
      let dead = false;
      for (const [pi, pos] of cand) {
        const path = paths[pi] as SetPath;
        if (!isSubset(cell, path[pos] as Ranges)) continue;
        if (pos + 1 === path.length) dead = true;
        else next.push([pi, pos + 1]);
      }
      if (dead) continue;
      const norm = dedupe(next);
      const key = keyOf(norm);
      let ti = index.get(key);
      if (ti === undefined) {
        ti = states.length;
        states.push(norm);
        index.set(key, ti);
        if (states.length > 64) throw new UnsupportedConstruct('look-ahead inside a repetition (automaton too large)');
      }
      out.set(ti, union(out.get(ti) ?? [], cell));
    }
    edges.push(out);
  }
  const accepting = states.map((s) => accept(s));
  return eliminate(edges, accepting);
}

type State = Array<[number, number]>;

function dedupe(s: State): State {
  const seen = new Set<string>();
  return s
    .filter(([a, b]) => {
      const k = `${a}:${b}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    })
    .sort((x, y) => x[0] - y[0] || x[1] - y[1]);
}

/** Does a partial match at `pos` of `path` complete on the following text? Undecidable -> throw. */
function completesOn(path: SetPath, pos: number, follow: Ranges[], textEnds = false): boolean {
  for (let k = pos; k < path.length; k++) {
    const f = follow[k - pos];
    if (f === undefined && textEnds) return false;
    if (f === undefined) throw new UnsupportedConstruct('look-ahead inside a repetition whose end is not decided by what follows');
    const r = path[k] as Ranges;
    if (isEmpty(intersect(f, r))) return false;
    if (!isSubset(f, r)) throw new UnsupportedConstruct('look-ahead inside a repetition whose end is not decided by what follows');
  }
  return true;
}

type Follow = { kind: 'literal'; sets: Ranges[] } | { kind: 'eol' } | { kind: 'other' };

function analyseFollow(T: readonly Token[], p: number, tables: UnicodeTables): Follow {
  const sets: Ranges[] = [];
  let i = p + 1;
  for (; i < T.length; i++) {
    const t = T[i] as Token;
    if (t.k !== 'node') continue;
    if (isCharNode(t.n)) sets.push(nodeRanges(t.n, tables));
    else break;
  }
  if (sets.length > 0) return { kind: 'literal', sets };
  const rest = T.slice(p + 1).filter((t) => t.k === 'node');
  if (rest.length === 1 && rest[0]?.k === 'node' && rest[0].n.t === 'assert' && (rest[0].n.kind === 'eol' || rest[0].n.kind === 'eol-m')) {
    return { kind: 'eol' };
  }
  return { kind: 'other' };
}

function unwrapSeq(n: Node): Node[] {
  if (n.t === 'group') return unwrapSeq(n.body);
  if (n.t === 'seq') return n.items.flatMap((c) => (c.t === 'group' ? unwrapSeq(c.body) : [c]));
  return [n];
}

/** State elimination: regex for all paths from state 0 to an accepting state. */
function eliminate(edges: Array<Map<number, Ranges>>, accepting: boolean[]): Node {
  const n = edges.length;
  const START = n;
  const FINAL = n + 1;
  const R: Array<Array<Node | undefined>> = Array.from({ length: n + 2 }, () => new Array<Node | undefined>(n + 2).fill(undefined));
  edges.forEach((m, a) => m.forEach((r, b) => ((R[a] as Array<Node | undefined>)[b] = { t: 'set', ranges: r })));
  (R[START] as Array<Node | undefined>)[0] = { t: 'empty' };
  accepting.forEach((ok, s) => {
    if (ok) (R[s] as Array<Node | undefined>)[FINAL] = { t: 'empty' };
  });
  const cat = (xs: Node[]): Node => {
    const items = xs.filter((x) => x.t !== 'empty');
    return items.length === 0 ? { t: 'empty' } : items.length === 1 ? (items[0] as Node) : { t: 'seq', items };
  };
  const or = (a: Node | undefined, b: Node): Node => {
    if (!a) return b;
    if (a.t === 'set' && b.t === 'set') return { t: 'set', ranges: union(a.ranges, b.ranges) };
    const items = [...(a.t === 'alt' ? a.items : [a]), ...(b.t === 'alt' ? b.items : [b])];
    return { t: 'alt', items };
  };
  for (let k = n - 1; k >= 0; k--) {
    const loop = (R[k] as Array<Node | undefined>)[k];
    const star: Node = loop ? { t: 'repeat', body: loop, min: 0, max: Number.POSITIVE_INFINITY, lazy: false } : { t: 'empty' };
    for (let a = 0; a < n + 2; a++) {
      const ak = (R[a] as Array<Node | undefined>)[k];
      if (a === k || !ak) continue;
      for (let b = 0; b < n + 2; b++) {
        const kb = (R[k] as Array<Node | undefined>)[b];
        if (b === k || !kb) continue;
        const row = R[a] as Array<Node | undefined>;
        row[b] = or(row[b], cat([ak, star, kb]));
      }
    }
    for (let a = 0; a < n + 2; a++) {
      (R[a] as Array<Node | undefined>)[k] = undefined;
      (R[k] as Array<Node | undefined>)[a] = undefined;
    }
  }
  const res = (R[START] as Array<Node | undefined>)[FINAL];
  if (!res) return { t: 'set', ranges: [] };
  return { t: 'group', body: res };
}
