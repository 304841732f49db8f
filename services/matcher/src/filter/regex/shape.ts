import type { Node } from './ast.js';
import { nullable } from './ast.js';

/**
 * Facts about a pattern's shape the matcher uses to skip work it can prove has no effect.
 */

/** Capture names that take part in every match with a non-empty value. */
export function alwaysPresent(n: Node): Set<string> {
  switch (n.t) {
    case 'seq':
      return new Set(n.items.flatMap((it) => [...alwaysPresent(it)]));
    case 'alt': {
      const sets = n.items.map(alwaysPresent);
      const first = sets[0] ?? new Set<string>();
      return new Set([...first].filter((x) => sets.every((s) => s.has(x))));
    }
    case 'cap': {
      const inner = alwaysPresent(n.body);
      if (!nullable(n.body)) inner.add(n.name);
      return inner;
    }
    case 'group':
      return alwaysPresent(n.body);
    case 'repeat':
      return n.min > 0 ? alwaysPresent(n.body) : new Set();
    default:
      return new Set();
  }
}

/** The capture every match begins with at the start of the subject: \A (?P<name> ...) ... */
export function leadingCapture(n: Node): string | undefined {
  let cur = n;
  while (cur.t === 'group') cur = cur.body;
  if (cur.t !== 'seq') return undefined;
  for (const it of cur.items) {
    if (it.t === 'assert' && (it.kind === 'bol' || it.kind === 'A')) continue;
    if (it.t === 'cap' && it !== cur.items[0]) return it.name;
    return undefined;
  }
  return undefined;
}
