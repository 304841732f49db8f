import type { Node } from './ast.js';
import { nullable } from './ast.js';
import type { Ranges, UnicodeTables } from './charset.js';
import { ANY, union } from './charset.js';
import { nodeRanges } from './class-ranges.js';

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

/**
 * The characters that can come right before capture `name` in a match (the last character of
 * the subject before it; a capture at the start of the subject contributes nothing). For a date
 * template, capture '1' is the date text that is cut out of the line, so this is what the kept
 * part before the cut can end with (see Prefilter's gate).
 */
export function charsBeforeCapture(root: Node, name: string, tables: UnicodeTables): Ranges {
  let found: Ranges = [];
  // A search may start anywhere: before the pattern, any character or the subject start.
  walkBefore(root, { chars: ANY, start: true }, name, tables, (st) => {
    found = union(found, st.chars);
  });
  return found;
}

/** What can precede the current position: a character of `chars`, or nothing (`start`). */
interface Before {
  chars: Ranges;
  start: boolean;
}

function joinBefore(a: Before, b: Before): Before {
  return { chars: union(a.chars, b.chars), start: a.start || b.start };
}

function sameBefore(a: Before, b: Before): boolean {
  return a.start === b.start && a.chars.length === b.chars.length && a.chars.every((v, i) => v === b.chars[i]);
}

/** The state after n, given the state before it; calls `hit` with the state at each capture `name`. */
function walkBefore(n: Node, st: Before, name: string, tables: UnicodeTables, hit: (st: Before) => void): Before {
  switch (n.t) {
    case 'char':
    case 'cls':
    case 'set':
      return { chars: nodeRanges(n, tables), start: false };
    case 'assert':
      // \A: only the subject start; other assertions keep every possibility (sound, if loose).
      return n.kind === 'bol' || n.kind === 'A' ? { chars: [], start: st.start } : st;
    case 'cap':
      if (n.name === name) hit(st);
      return walkBefore(n.body, st, name, tables, hit);
    case 'group':
      return walkBefore(n.body, st, name, tables, hit);
    case 'seq':
      return n.items.reduce((cur, it) => walkBefore(it, cur, name, tables, hit), st);
    case 'alt':
      return n.items.map((it) => walkBefore(it, st, name, tables, hit)).reduce(joinBefore, { chars: [], start: false });
    case 'cond':
      return joinBefore(walkBefore(n.yes, st, name, tables, hit), walkBefore(n.no, st, name, tables, hit));
    case 'repeat': {
      // Entry states of all iterations, to a fixpoint (it also holds every state one leaves).
      let entry = st;
      for (;;) {
        const after = walkBefore(n.body, entry, name, tables, hit);
        const next = joinBefore(entry, after);
        if (sameBefore(next, entry)) return n.min === 0 ? entry : after;
        entry = next;
      }
    }
    case 'look':
    case 'backref':
      // Zero-width, or text only known at run time: anything may precede what follows.
      return n.t === 'look' ? st : { chars: ANY, start: st.start };
    default:
      return st;
  }
}
