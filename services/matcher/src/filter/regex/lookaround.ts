import type { Node } from './ast.js';
import { alt, mapTree, renumber, seq, some } from './ast.js';
import type { Ranges } from './charset.js';
import { complement, intersect, isEmpty, isSubset, union } from './charset.js';
import { isCharNode, nodeRanges } from './class-ranges.js';
import { NEVER } from './conditional.js';
import type { DeriveContext, Out } from './derive.js';
import { Deriver, LocalUnresolved, NeedPrevWord, pathsOf } from './derive.js';
import { UnsupportedConstruct } from './emit-re2.js';
import { temperedReplacement } from './tempered.js';
import type { Token } from './tokens.js';
import { build, flatten, renumberTokens } from './tokens.js';

/**
 * Removes look-aheads, look-behinds and Unicode \b from a tree (see derive.ts for the method).
 * A \b whose left side cannot be known from the pattern stays as RE2's ASCII \b; the emitter flags
 * that so the matcher can refuse lines where ASCII and Unicode word boundaries could differ.
 */
export function eliminateLookarounds(root: Node, ctx: DeriveContext): Node {
  const withoutBehind = resolveLookbehinds(root, undefined, ctx);
  const kept = new Set<Node>();
  return processTokens(flatten(withoutBehind), ctx, kept, 0);
}

function isTarget(n: Node, kept: Set<Node>): boolean {
  return some(n, (m) => m.t === 'look' || (m.t === 'assert' && (m.kind === 'wb' || m.kind === 'nwb') && !kept.has(m)));
}

function processTokens(start: Token[], ctx: DeriveContext, kept: Set<Node>, depth: number, local = false): Node {
  if (depth > 32) throw new UnsupportedConstruct('look-around nested too deeply for a rewrite');
  let T = start;
  const deriver = new Deriver(ctx, local);
  for (let round = 0; round < 256; round++) {
    const p = T.findIndex((t) => t.k === 'node' && isTarget(t.n, kept));
    if (p < 0) return build(T);
    const n = (T[p] as Extract<Token, { k: 'node' }>).n;
    if (n.t === 'look' || n.t === 'assert') {
      let outs: Out[];
      try {
        outs = deriver.startAt(T, p, prevWordAt(T, p, ctx));
      } catch (e) {
        if (!(e instanceof NeedPrevWord)) throw e;
        if (!local && T.slice(0, p).every((t) => t.k !== 'node')) return leadingBoundary(T, p, ctx, kept, depth);
        if (n.t === 'assert') {
          kept.add(n);
          continue;
        }
        throw new UnsupportedConstruct('look-ahead testing \\b where the preceding character is not known');
      }
      T = combine(T, p, outs, ctx);
      continue;
    }
    const localized = tryLocal(n, ctx, kept, depth);
    if (localized) {
      T = [...T.slice(0, p), { k: 'node', n: localized }, ...T.slice(p + 1)];
    } else if (n.t === 'alt') {
      if (local) throw new LocalUnresolved();
      const q = liftStart(T, p);
      const dup = T.slice(q, p);
      const rest = T.slice(p + 1);
      const branches = n.items.map((b, k) => {
        const toks = [...dup, ...flatten(b), ...rest];
        return processTokens(k === 0 ? toks : renumberTokens(toks, ctx.nextId), ctx, kept, depth + 1);
      });
      return build([...T.slice(0, q), { k: 'node', n: alt(branches) }]);
    } else if (n.t === 'repeat') {
      T = [...T.slice(0, p), ...expandRepeat(n, T, p, ctx), ...T.slice(p + 1)];
    } else {
      throw new UnsupportedConstruct(`look-around inside ${n.t}`);
    }
    if (--ctx.budget.left < 0) throw new UnsupportedConstruct('look-around whose RE2 rewrite is too large');
  }
  throw new UnsupportedConstruct('look-around whose RE2 rewrite does not terminate');
}

/**
 * A \\b (or look-ahead testing one) at the very start of an unanchored pattern: the character
 * before the match is not part of it, so consume it explicitly (or match at the start of the text,
 * tried first as leftmost). The match then starts one character earlier; captures do not move.
 */
function leadingBoundary(T: readonly Token[], p: number, ctx: DeriveContext, kept: Set<Node>, depth: number): Node {
  const w = ctx.tables.word();
  const variants: Array<{ pre: Node; prevWord: boolean }> = [
    { pre: { t: 'assert', kind: 'A' }, prevWord: false },
    { pre: { t: 'set', ranges: complement(w) }, prevWord: false },
    { pre: { t: 'set', ranges: w }, prevWord: true },
  ];
  const branches = variants.map((v, k) => {
    const src = k === 0 ? [...T] : renumberTokens(T, ctx.nextId);
    const outs = new Deriver(ctx).startAt(src, p, v.prevWord);
    const rewritten: Token[] = [{ k: 'node', n: v.pre }, ...combine(src, p, outs, ctx)];
    return processTokens(rewritten, ctx, kept, depth + 1);
  });
  return alt(branches);
}

/**
 * Rewrite the look-arounds of an alternation's branches or a repetition's body inside that part
 * alone, when each is decided before the part ends (`(?:(?!RemoteAddress=)\\w+="[^"]*",)*`): no
 * copying of what follows, and a repetition stays a repetition.
 */
function tryLocal(n: Node, ctx: DeriveContext, kept: Set<Node>, depth: number): Node | undefined {
  const budget = ctx.budget.left;
  const trial = new Set(kept);
  try {
    let out: Node | undefined;
    if (n.t === 'alt') {
      out = { t: 'alt', items: n.items.map((b) => (isTarget(b, trial) ? processTokens(flatten(b), ctx, trial, depth + 1, true) : b)) };
    } else if (n.t === 'repeat') out = { ...n, body: processTokens(flatten(n.body), ctx, trial, depth + 1, true) };
    for (const k of trial) kept.add(k);
    return out;
  } catch (e) {
    if (!(e instanceof LocalUnresolved) && !(e instanceof UnsupportedConstruct)) throw e;
    ctx.budget.left = budget;
    return undefined;
  }
}

function expandRepeat(n: Extract<Node, { t: 'repeat' }>, T: readonly Token[], p: number, ctx: DeriveContext): Token[] {
  if (n.min === 0 && n.max === 1) {
    const items = n.lazy ? [{ t: 'empty' } as Node, n.body] : [n.body, { t: 'empty' } as Node];
    return [{ k: 'node', n: { t: 'alt', items } }];
  }
  const tempered = temperedReplacement(n, T, p, ctx.tables);
  if (tempered) return [{ k: 'node', n: tempered }];
  if (n.max === Number.POSITIVE_INFINITY && containsLook(n.body)) {
    throw new UnsupportedConstruct('look-ahead inside an unbounded repetition (not a tempered token whose end is fixed by what follows)');
  }
  const rest: Node | undefined =
    n.max - 1 > 0 ? { ...n, body: renumber(n.body, ctx.nextId), min: Math.max(0, n.min - 1), max: n.max - 1 } : undefined;
  const once = seq(rest ? [n.body, rest] : [n.body]);
  if (n.min > 0) return flatten(once);
  const items = n.lazy ? [{ t: 'empty' } as Node, once] : [once, { t: 'empty' } as Node];
  return [{ k: 'node', n: { t: 'alt', items } }];
}

function containsLook(n: Node): boolean {
  return some(n, (m) => m.t === 'look');
}

/** Earliest capture opened before p and not closed before p (where an alternation must be lifted to). */
function liftStart(T: readonly Token[], p: number): number {
  const open: number[] = [];
  for (let j = 0; j < p; j++) {
    const t = T[j] as Token;
    if (t.k === 'open') open.push(j);
    else if (t.k === 'close') open.pop();
  }
  if (open.length === 0) return p;
  const q = open[0] as number;
  const dup = T.slice(q, p);
  const ambiguous = dup.some((t) => t.k === 'node' && !(isCharNode(t.n) || t.n.t === 'empty' || (t.n.t === 'assert' && (t.n.kind === 'bol' || t.n.kind === 'A'))));
  if (ambiguous) {
    throw new UnsupportedConstruct('look-around inside a capture group whose earlier part can match in several ways');
  }
  return q;
}

/** Put the derived alternatives in place of T[p..J), J the first balanced point after all of them. */
function combine(T: Token[], p: number, outs: Out[], ctx: DeriveContext): Token[] {
  if (outs.length === 0) return [...T.slice(0, p), { k: 'node', n: NEVER }, ...T.slice(p + 1)];
  const maxTail = Math.max(...outs.map((o) => o.tail));
  const q = balancedEnd(T, p, maxTail) === undefined ? liftStart(T, p) : p;
  const J = balancedEnd(T, q, maxTail);
  if (J === undefined) throw new Error('unbalanced token list in look-around rewrite');
  const dup = T.slice(q, p);
  const branches = outs.map((o, k) => {
    const toks = [...dup, ...o.head, ...T.slice(o.tail, J)];
    return build(k === 0 ? toks : renumberTokens(toks, ctx.nextId));
  });
  return [...T.slice(0, q), { k: 'node', n: alt(branches) }, ...T.slice(J)];
}

function balancedEnd(T: readonly Token[], from: number, atLeast: number): number | undefined {
  let d = 0;
  for (let j = from; j <= T.length; j++) {
    if (j >= atLeast && d === 0) return j;
    const t = T[j];
    if (!t) break;
    if (t.k === 'open') d++;
    else if (t.k === 'close') d--;
    if (d < 0) return undefined;
  }
  return undefined;
}

function prevWordAt(T: readonly Token[], p: number, ctx: DeriveContext): boolean | undefined {
  for (let j = p - 1; j >= 0; j--) {
    const t = T[j] as Token;
    if (t.k !== 'node') continue;
    const n = t.n;
    if (n.t === 'assert') {
      if (n.kind === 'bol' || n.kind === 'A') return false;
      continue;
    }
    const info = lastInfo(n, ctx);
    if (!info || info.nullable) return undefined;
    const w = ctx.tables.word();
    if (isSubset(info.set, w)) return true;
    if (isEmpty(intersect(info.set, w))) return false;
    return undefined;
  }
  return undefined;
}

interface LastInfo {
  set: Ranges;
  nullable: boolean;
}

/** Which characters can be last in a match of n, and whether n can match empty. */
function lastInfo(n: Node, ctx: DeriveContext): LastInfo | undefined {
  switch (n.t) {
    case 'char':
    case 'cls':
    case 'set':
      return { set: nodeRanges(n, ctx.tables), nullable: false };
    case 'empty':
    case 'assert':
    case 'look':
      return { set: [], nullable: true };
    case 'group':
    case 'cap':
      return lastInfo(n.body, ctx);
    case 'repeat': {
      const b = lastInfo(n.body, ctx);
      return b && { set: b.set, nullable: n.min === 0 || b.nullable };
    }
    case 'alt': {
      const parts = n.items.map((c) => lastInfo(c, ctx));
      if (parts.some((x) => !x)) return undefined;
      return { set: union(...parts.map((x) => (x as LastInfo).set)), nullable: parts.some((x) => (x as LastInfo).nullable) };
    }
    case 'seq': {
      let acc: Ranges = [];
      for (let i = n.items.length - 1; i >= 0; i--) {
        const li = lastInfo(n.items[i] as Node, ctx);
        if (!li) return undefined;
        acc = union(acc, li.set);
        if (!li.nullable) return { set: acc, nullable: false };
      }
      return { set: acc, nullable: true };
    }
    default:
      return undefined;
  }
}

/**
 * Look-behinds of one character are decided by what the pattern itself consumed just before
 * (fail2ban's IPv6 pattern ends in `(?<=:):` right after a part that always ends in ':').
 */
function resolveLookbehinds(n: Node, prev: Ranges | undefined, ctx: DeriveContext): Node {
  if (!some(n, (m) => m.t === 'look' && m.behind)) return n;
  switch (n.t) {
    case 'look': {
      if (!n.behind) return n;
      const paths = pathsOf(n.body, ctx.tables);
      if (paths.some((pa) => pa.length !== 1 || pa[0]?.k !== 'set')) {
        throw new UnsupportedConstruct(`${n.neg ? 'negative look-behind (?<!...)' : 'look-behind (?<=...)'} longer than one character`);
      }
      const S = union(...paths.map((pa) => (pa[0] as { r: Ranges }).r));
      if (prev === undefined) throw new UnsupportedConstruct('look-behind where the preceding character is not known from the pattern');
      const always = isSubset(prev, S);
      const never = isEmpty(intersect(prev, S));
      if (!always && !never) throw new UnsupportedConstruct('look-behind that depends on the text before the match');
      return always !== n.neg ? { t: 'empty' } : NEVER;
    }
    case 'seq': {
      const items = n.items.map((item, i) => {
        let acc: Ranges | undefined = [];
        let j = i - 1;
        for (; j >= 0; j--) {
          const li = lastInfo(n.items[j] as Node, ctx);
          if (!li) {
            acc = undefined;
            break;
          }
          acc = union(acc, li.set);
          if (!li.nullable) break;
        }
        const before = acc === undefined ? undefined : j < 0 ? (prev === undefined ? undefined : union(acc, prev)) : acc;
        return resolveLookbehinds(item, before, ctx);
      });
      return seq(items);
    }
    case 'alt':
      return { t: 'alt', items: n.items.map((c) => resolveLookbehinds(c, prev, ctx)) };
    case 'group':
    case 'cap':
      return { ...n, body: resolveLookbehinds(n.body, prev, ctx) };
    case 'repeat': {
      const li = lastInfo(n.body, ctx);
      const before = prev === undefined || !li ? undefined : union(prev, li.set);
      return { ...n, body: resolveLookbehinds(n.body, before, ctx) };
    }
    default:
      return mapTree(n, (m) => m);
  }
}
