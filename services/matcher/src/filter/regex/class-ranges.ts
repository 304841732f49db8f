import type { ClassItem, Node } from './ast.js';
import type { Ranges, UnicodeTables } from './charset.js';
import { caseFold, complement, normalize, PY_SPACE, union } from './charset.js';

/** Exact code point set of a single-character node (char, cls, set), with case folding applied. */
export function nodeRanges(n: Node, tables: UnicodeTables): Ranges {
  switch (n.t) {
    case 'char':
      return n.icase ? caseFold([n.cp, n.cp]) : [n.cp, n.cp];
    case 'set':
      return n.ranges;
    case 'cls': {
      const parts = n.items.map((it) => itemRanges(it, tables));
      let r = union(...parts);
      if (n.icase) r = caseFold(r);
      return n.neg ? complement(r) : r;
    }
    default:
      throw new Error(`not a character node: ${n.t}`);
  }
}

export function itemRanges(it: ClassItem, tables: UnicodeTables): Ranges {
  switch (it.k) {
    case 'range':
      return normalize([[it.lo, it.hi]]);
    case 'digit':
      return it.neg ? complement(tables.digit()) : tables.digit();
    case 'word':
      return it.neg ? complement(tables.word()) : tables.word();
    case 'space':
      return it.neg ? complement(PY_SPACE) : PY_SPACE;
  }
}

export function isCharNode(n: Node): n is Extract<Node, { t: 'char' | 'cls' | 'set' }> {
  return n.t === 'char' || n.t === 'cls' || n.t === 'set';
}
