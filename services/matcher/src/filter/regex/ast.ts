import type { Ranges } from './charset.js';

/**
 * Regex syntax tree shared by the Python-syntax parser, the rewrites and the RE2 emitter.
 *
 * Character sets are kept symbolic (`cls` with `items`) until a rewrite needs set algebra, so the
 * emitted pattern stays readable (\p{Nd} rather than 70 ranges).
 */
export type ClassItem =
  | { k: 'range'; lo: number; hi: number }
  | { k: 'digit'; neg: boolean }
  | { k: 'word'; neg: boolean }
  | { k: 'space'; neg: boolean };

export type Node =
  | { t: 'empty' }
  | { t: 'char'; cp: number; icase: boolean }
  /** `[...]`, `.`, `\d` ...; `dot` marks `.` (all but \n, or all with DOTALL). */
  | { t: 'cls'; items: ClassItem[]; neg: boolean; icase: boolean }
  /** An exact set produced by a rewrite (already case-folded). */
  | { t: 'set'; ranges: Ranges }
  | { t: 'seq'; items: Node[] }
  | { t: 'alt'; items: Node[] }
  /** id: capture id (unique in the tree); name: the Python group name (or number) it stands for. */
  | { t: 'cap'; id: number; name: string; body: Node }
  | { t: 'group'; body: Node }
  | { t: 'repeat'; body: Node; min: number; max: number; lazy: boolean }
  | { t: 'assert'; kind: AssertKind }
  | { t: 'look'; behind: boolean; neg: boolean; body: Node }
  | { t: 'backref'; name: string }
  | { t: 'cond'; name: string; yes: Node; no: Node };

/** bol/eol: Python ^ and $ (MULTILINE decides); A / z: \A and \Z; wb / nwb: \b and \B. */
export type AssertKind = 'bol' | 'eol' | 'bol-m' | 'eol-m' | 'A' | 'z' | 'wb' | 'nwb';

export const EMPTY: Node = { t: 'empty' };

export function seq(items: Node[]): Node {
  const flat: Node[] = [];
  for (const it of items) {
    if (it.t === 'seq') flat.push(...it.items);
    else if (it.t !== 'empty') flat.push(it);
  }
  if (flat.length === 0) return EMPTY;
  if (flat.length === 1) return flat[0] as Node;
  return { t: 'seq', items: flat };
}

export function alt(items: Node[]): Node {
  if (items.length === 1) return items[0] as Node;
  return { t: 'alt', items };
}

export function children(n: Node): Node[] {
  switch (n.t) {
    case 'seq':
    case 'alt':
      return n.items;
    case 'cap':
    case 'group':
    case 'repeat':
    case 'look':
      return [n.body];
    case 'cond':
      return [n.yes, n.no];
    default:
      return [];
  }
}

/** Rebuild bottom-up with f applied to every node after its children. */
export function mapTree(n: Node, f: (n: Node) => Node): Node {
  switch (n.t) {
    case 'seq':
      return f(seq(n.items.map((c) => mapTree(c, f))));
    case 'alt':
      return f({ t: 'alt', items: n.items.map((c) => mapTree(c, f)) });
    case 'cap':
      return f({ ...n, body: mapTree(n.body, f) });
    case 'group':
      return f({ ...n, body: mapTree(n.body, f) });
    case 'repeat':
      return f({ ...n, body: mapTree(n.body, f) });
    case 'look':
      return f({ ...n, body: mapTree(n.body, f) });
    case 'cond':
      return f({ ...n, yes: mapTree(n.yes, f), no: mapTree(n.no, f) });
    default:
      return f(n);
  }
}

export function some(n: Node, pred: (n: Node) => boolean): boolean {
  if (pred(n)) return true;
  return children(n).some((c) => some(c, pred));
}

export function nullable(n: Node): boolean {
  switch (n.t) {
    case 'empty':
    case 'assert':
    case 'look':
      return true;
    case 'char':
    case 'cls':
    case 'set':
      return false;
    case 'seq':
      return n.items.every(nullable);
    case 'alt':
      return n.items.some(nullable);
    case 'cap':
    case 'group':
      return nullable(n.body);
    case 'repeat':
      return n.min === 0 || nullable(n.body);
    case 'cond':
      return nullable(n.yes) || nullable(n.no);
    case 'backref':
      return true;
  }
}

/** Capture names (Python names) defined anywhere in n. */
export function captureNames(n: Node, out: Set<string> = new Set()): Set<string> {
  if (n.t === 'cap') out.add(n.name);
  for (const c of children(n)) captureNames(c, out);
  return out;
}

/** Give every capture in a copied subtree a fresh id, so copies are distinct RE2 groups. */
export function renumber(n: Node, nextId: () => number): Node {
  return mapTree(n, (m) => (m.t === 'cap' ? { ...m, id: nextId() } : m));
}
