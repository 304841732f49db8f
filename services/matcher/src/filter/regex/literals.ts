import type { Node } from './ast.js';
import type { UnicodeTables } from './charset.js';
import { size } from './charset.js';
import { nodeRanges } from './class-ranges.js';

/**
 * Strings a match must contain, read off the tree: a cheap test (String.includes) that lets the
 * matcher skip every pattern on lines that cannot match, before any engine runs.
 *
 * The result is a list of clauses; a match contains at least one string of every clause. It is
 * sound by construction: `exact` is the complete set of strings a node can match (kept while small),
 * a sequence's clause is a product of consecutive exact sets, an alternation's clause takes one
 * clause of every branch, and anything unknown (large classes, optional parts) contributes nothing.
 */
const MAX_EXACT = 16;

interface Info {
  /** Every string the node can match, when that set is small; null: unknown. */
  exact: string[] | null;
  clauses: string[][];
}

export function requiredLiterals(root: Node, tables: UnicodeTables): string[][] {
  const info = walk(root, tables);
  const clauses = info.exact ? [...info.clauses, info.exact] : info.clauses;
  const out: string[][] = [];
  const seen = new Set<string>();
  for (const c of clauses) {
    const cleaned = cleanClause(c);
    if (!cleaned) continue;
    const key = JSON.stringify(cleaned);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(cleaned);
  }
  // Most selective first: the matcher only tests the first one before the others.
  return out.sort((a, b) => quality(b) - quality(a));
}

/** A clause usable on text without the newline fail2ban appends: split at newlines, keep the longest piece. */
function cleanClause(c: readonly string[]): string[] | undefined {
  const out = new Set<string>();
  for (const s of c) {
    const piece = s.split('\n').reduce((a, b) => (b.length > a.length ? b : a), '');
    if (piece === '') return undefined;
    out.add(piece);
  }
  return [...out].sort();
}

function quality(c: readonly string[]): number {
  return Math.min(...c.map((s) => s.length));
}

function best(info: Info): string[] | undefined {
  const candidates = info.exact ? [...info.clauses, info.exact] : info.clauses;
  let top: string[] | undefined;
  for (const c of candidates) {
    if (c.some((s) => s === '')) continue;
    if (!top || quality(c) > quality(top)) top = c;
  }
  return top;
}

function walk(n: Node, tables: UnicodeTables): Info {
  switch (n.t) {
    case 'empty':
    case 'assert':
      return { exact: [''], clauses: [] };
    case 'char':
    case 'cls':
    case 'set': {
      if (n.t === 'char' && !n.icase) return { exact: [String.fromCodePoint(n.cp)], clauses: [] };
      // Case-insensitive characters are their folded set, as the translation uses.
      const r = nodeRanges(n, tables);
      if (size(r) > 4) return { exact: null, clauses: [] };
      const chars: string[] = [];
      for (let i = 0; i < r.length; i += 2) for (let c = r[i] as number; c <= (r[i + 1] as number); c++) chars.push(String.fromCodePoint(c));
      return { exact: chars, clauses: [] };
    }
    case 'cap':
    case 'group':
      return walk(n.body, tables);
    case 'seq': {
      const clauses: string[][] = [];
      let cur: string[] | null = [''];
      let allExact = true;
      for (const it of n.items) {
        const info = walk(it, tables);
        clauses.push(...info.clauses);
        if (info.exact && cur && cur.length * info.exact.length <= MAX_EXACT) {
          const next: string[] = [];
          for (const a of cur) for (const b of info.exact) next.push(a + b);
          cur = next;
          continue;
        }
        if (cur) clauses.push(cur);
        allExact = false;
        cur = info.exact ?? [''];
      }
      if (allExact) return { exact: cur, clauses };
      if (cur) clauses.push(cur);
      return { exact: null, clauses };
    }
    case 'alt': {
      const infos = n.items.map((it) => walk(it, tables));
      if (infos.every((i) => i.exact) && infos.reduce((s, i) => s + (i.exact as string[]).length, 0) <= MAX_EXACT) {
        return { exact: [...new Set(infos.flatMap((i) => i.exact as string[]))], clauses: [] };
      }
      const union: string[] = [];
      for (const i of infos) {
        const b = best(i);
        if (!b) return { exact: null, clauses: [] };
        union.push(...b);
      }
      return { exact: null, clauses: [union] };
    }
    case 'repeat': {
      if (n.min === 0) return { exact: null, clauses: [] };
      const body = walk(n.body, tables);
      if (n.min === 1 && n.max === 1) return body;
      return { exact: null, clauses: body.exact ? [...body.clauses, body.exact] : body.clauses };
    }
    default:
      return { exact: null, clauses: [] };
  }
}
