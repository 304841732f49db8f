import type { Node } from './ast.js';
import { alt, children, mapTree, renumber, seq, some } from './ast.js';
import { UnsupportedConstruct } from './emit-re2.js';

/**
 * Removes `(?(g)yes|no)` conditionals and `(?P=g)` back-references by splitting the pattern on the
 * group: the element that contains group g is rewritten into its ordered variants (g matched / not
 * matched, or g matched each of its finitely many strings), and the rest of the sequence is copied
 * once per variant with the conditional or back-reference resolved. The variants keep the order a
 * backtracking engine would try them in, so captures come out the same.
 *
 * A back-reference to a group with unboundedly many possible values is not a regular language:
 * that is reported as unsupported.
 */
const NEVER: Node = { t: 'set', ranges: [] };
const MAX_STRINGS = 64;

interface Variant {
  node: Node;
  /** undefined: g did not participate; else the text g matched (null: any, for conditionals). */
  value: string | null | undefined;
}

export interface IdSource {
  next(): number;
}

export function removeConditionals(root: Node, ids: IdSource): Node {
  let cur = root;
  for (let guard = 0; guard < 32; guard++) {
    const target = firstReference(cur);
    if (!target) return cur;
    const byValue = target.kind === 'backref';
    if (!some(cur, (n) => n.t === 'cap' && n.name === target.name)) {
      throw new UnsupportedConstruct(`reference to group ${target.name} that is not defined`);
    }
    const vs = variants(cur, target.name, byValue, ids);
    cur = alt(vs.map((v) => v.node));
  }
  throw new UnsupportedConstruct('too many conditionals/back-references');
}

function firstReference(n: Node): { name: string; kind: 'cond' | 'backref' } | undefined {
  if (n.t === 'cond') return { name: n.name, kind: 'cond' };
  if (n.t === 'backref') return { name: n.name, kind: 'backref' };
  for (const c of children(n)) {
    const r = firstReference(c);
    if (r) return r;
  }
  return undefined;
}

function defines(n: Node, g: string): boolean {
  return some(n, (m) => m.t === 'cap' && m.name === g);
}

/** Resolve references to g in a subtree where g is known to hold `value` (undefined: unset). */
function specialize(n: Node, g: string, value: string | null | undefined): Node {
  return mapTree(n, (m) => {
    if (m.t === 'cond' && m.name === g) return value === undefined ? m.no : m.yes;
    if (m.t === 'backref' && m.name === g) {
      if (value === undefined) return NEVER;
      if (value === null) throw new UnsupportedConstruct(`back-reference (?P=${g}) to a group with unbounded values`);
      return seq([...value].map((ch) => ({ t: 'char', cp: ch.codePointAt(0) as number, icase: false }) as Node));
    }
    return m;
  });
}

function variants(n: Node, g: string, byValue: boolean, ids: IdSource): Variant[] {
  const fresh = (x: Node): Node => renumber(x, () => ids.next());
  switch (n.t) {
    case 'cap': {
      if (n.name === g) {
        if (!byValue) return [{ node: n, value: null }];
        const strs = enumerate(n.body);
        if (strs === undefined) throw new UnsupportedConstruct(`back-reference (?P=${g}) to a group with unbounded values`);
        return strs.map((s, i) => ({ node: { ...n, id: i === 0 ? n.id : ids.next(), body: literal(s) }, value: s }));
      }
      return variants(n.body, g, byValue, ids).map((v, i) => ({
        node: { ...n, id: i === 0 ? n.id : ids.next(), body: v.node },
        value: v.value,
      }));
    }
    case 'group':
      return variants(n.body, g, byValue, ids).map((v) => ({ node: { t: 'group', body: v.node }, value: v.value }));
    case 'alt': {
      const out: Variant[] = [];
      for (const item of n.items) {
        if (defines(item, g)) out.push(...variants(item, g, byValue, ids));
        else out.push({ node: specialize(item, g, undefined), value: undefined });
      }
      return out.map((v, i) => (i === 0 ? v : { ...v, node: fresh(v.node) }));
    }
    case 'repeat': {
      if (n.max === 0) return [{ node: n, value: undefined }];
      if (n.min === 0 && n.max === 1) {
        const inner = variants(n.body, g, byValue, ids);
        const skip: Variant = { node: { t: 'empty' }, value: undefined };
        return n.lazy ? [skip, ...inner] : [...inner, skip];
      }
      if (n.min === 1 && n.max === 1) return variants(n.body, g, byValue, ids);
      throw new UnsupportedConstruct(`conditional or back-reference on group ${g} inside a repetition`);
    }
    case 'seq': {
      const idx = n.items.findIndex((c) => defines(c, g));
      const before = n.items.slice(0, idx).map((c) => specialize(c, g, undefined));
      const inner = variants(n.items[idx] as Node, g, byValue, ids);
      const after = n.items.slice(idx + 1);
      return inner.map((v, i) => {
        const rest = after.map((c) => specialize(c, g, v.value));
        const node = seq([...before, v.node, ...rest]);
        return { node: i === 0 ? node : fresh(node), value: v.value };
      });
    }
    case 'look':
      throw new UnsupportedConstruct(`group ${g} defined inside a look-around`);
    default:
      return [{ node: n, value: undefined }];
  }
}

function literal(s: string): Node {
  return seq([...s].map((ch) => ({ t: 'char', cp: ch.codePointAt(0) as number, icase: false }) as Node));
}

/**
 * Every string a small finite sub-pattern can match, in the order a backtracking engine tries them,
 * or undefined when the language is infinite or too large.
 */
export function enumerate(n: Node): string[] | undefined {
  const r = enumerateInner(n);
  return r && r.length <= MAX_STRINGS ? r : undefined;
}

function enumerateInner(n: Node): string[] | undefined {
  switch (n.t) {
    case 'empty':
      return [''];
    case 'char':
      if (n.icase && String.fromCodePoint(n.cp).toLowerCase() !== String.fromCodePoint(n.cp).toUpperCase()) return undefined;
      return [String.fromCodePoint(n.cp)];
    case 'cls': {
      if (n.neg) return undefined;
      const out: string[] = [];
      for (const it of n.items) {
        if (it.k !== 'range' || it.hi - it.lo > MAX_STRINGS) return undefined;
        for (let c = it.lo; c <= it.hi; c++) {
          const ch = String.fromCodePoint(c);
          if (n.icase && ch.toLowerCase() !== ch.toUpperCase()) return undefined;
          out.push(ch);
        }
      }
      return [...new Set(out)];
    }
    case 'seq': {
      let acc: string[] = [''];
      for (const it of n.items) {
        const part = enumerateInner(it);
        if (!part) return undefined;
        acc = acc.flatMap((a) => part.map((b) => a + b));
        if (acc.length > MAX_STRINGS) return undefined;
      }
      return acc;
    }
    case 'alt': {
      const out: string[] = [];
      for (const it of n.items) {
        const part = enumerateInner(it);
        if (!part) return undefined;
        out.push(...part);
      }
      return out.length > MAX_STRINGS ? undefined : out;
    }
    case 'group':
    case 'cap':
      return enumerateInner(n.body);
    case 'repeat': {
      if (n.max === Number.POSITIVE_INFINITY || n.max > 8) return undefined;
      const body = enumerateInner(n.body);
      if (!body) return undefined;
      const byCount: string[][] = [];
      let acc: string[] = [''];
      for (let k = 0; k <= n.max; k++) {
        if (k >= n.min) byCount.push(acc);
        acc = acc.flatMap((a) => body.map((b) => a + b));
        if (acc.length > MAX_STRINGS) return undefined;
      }
      const order = n.lazy ? byCount : byCount.reverse();
      return order.flat();
    }
    default:
      return undefined;
  }
}

export { NEVER };
