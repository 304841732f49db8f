import type { Node } from './ast.js';
import { renumber, seq } from './ast.js';

/**
 * A pattern as a flat token list: captures become open/close tokens, non-capturing groups and
 * sequences dissolve, alternations and repetitions stay whole nodes. Rewrites that need "everything
 * after this point" (look-ahead elimination) work on this form, then `build` nests it again.
 */
export type Token =
  | { k: 'node'; n: Node }
  | { k: 'open'; id: number; name: string }
  | { k: 'close'; id: number };

export function flatten(n: Node, out: Token[] = []): Token[] {
  switch (n.t) {
    case 'seq':
      for (const c of n.items) flatten(c, out);
      break;
    case 'group':
      flatten(n.body, out);
      break;
    case 'empty':
      break;
    case 'cap':
      out.push({ k: 'open', id: n.id, name: n.name });
      flatten(n.body, out);
      out.push({ k: 'close', id: n.id });
      break;
    default:
      out.push({ k: 'node', n });
  }
  return out;
}

/** Nest a balanced token list back into a tree. */
export function build(tokens: readonly Token[]): Node {
  const stack: Array<{ id: number; name: string; items: Node[] }> = [{ id: -1, name: '', items: [] }];
  for (const t of tokens) {
    const top = stack[stack.length - 1] as { items: Node[] };
    if (t.k === 'node') top.items.push(t.n);
    else if (t.k === 'open') stack.push({ id: t.id, name: t.name, items: [] });
    else {
      const done = stack.pop();
      if (!done || done.id !== t.id) throw new Error('unbalanced token list');
      (stack[stack.length - 1] as { items: Node[] }).items.push({ t: 'cap', id: done.id, name: done.name, body: seq(done.items) });
    }
  }
  if (stack.length !== 1) throw new Error('unbalanced token list');
  return seq((stack[0] as { items: Node[] }).items);
}

/** Copy tokens with fresh capture ids (opens and their closes stay paired). */
export function renumberTokens(tokens: readonly Token[], next: () => number): Token[] {
  const map = new Map<number, number>();
  const idFor = (id: number): number => {
    let v = map.get(id);
    if (v === undefined) {
      v = next();
      map.set(id, v);
    }
    return v;
  };
  return tokens.map((t) => {
    if (t.k === 'open') return { ...t, id: idFor(t.id) };
    if (t.k === 'close') return { ...t, id: idFor(t.id) };
    return { k: 'node', n: renumber(t.n, next) };
  });
}
