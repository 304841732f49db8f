/**
 * Parser for fail2ban's `bantime.formula` and `bantime.factor`, which fail2ban evaluates as Python.
 * We never run Python or JavaScript from a config file: this accepts a small, side-effect-free
 * subset of Python expression syntax over numbers and turns it into a tree that expression-eval.ts
 * evaluates. Anything outside the subset is rejected when the config is loaded.
 *
 * Grammar (Python's precedence, lowest first):
 *   expr       := or_test ['if' or_test 'else' expr]
 *   or_test    := and_test ('or' and_test)*
 *   and_test   := not_test ('and' not_test)*
 *   not_test   := 'not' not_test | comparison
 *   comparison := shift (('<'|'>'|'<='|'>='|'=='|'!=') shift)*     (chained like Python)
 *   shift      := arith (('<<'|'>>') arith)*
 *   arith      := term (('+'|'-') term)*
 *   term       := factor (('*'|'/') factor)*
 *   factor     := ('+'|'-') factor | power
 *   power      := primary ['**' factor]
 *   primary    := NUMBER | NAME | NAME '(' expr (',' expr)* ')' | '(' expr ')'
 */

export type BinaryOp = '+' | '-' | '*' | '/' | '**' | '<<' | '>>';
export type CompareOp = '<' | '>' | '<=' | '>=' | '==' | '!=';

export type Expr =
  | { k: 'num'; v: number }
  | { k: 'var'; name: string }
  | { k: 'call'; fn: string; args: Expr[] }
  | { k: 'bin'; op: BinaryOp; l: Expr; r: Expr }
  | { k: 'neg'; e: Expr }
  | { k: 'cmp'; ops: CompareOp[]; operands: Expr[] }
  | { k: 'if'; cond: Expr; then: Expr; else: Expr }
  | { k: 'and' | 'or'; l: Expr; r: Expr }
  | { k: 'not'; e: Expr };

/** Functions a formula may call, with their accepted argument counts. */
export const FUNCTIONS: Readonly<Record<string, { min: number; max: number }>> = {
  min: { min: 2, max: 16 },
  max: { min: 2, max: 16 },
  int: { min: 1, max: 1 },
  float: { min: 1, max: 1 },
  'math.exp': { min: 1, max: 1 },
  'math.log': { min: 1, max: 2 },
  'math.sqrt': { min: 1, max: 1 },
};

const KEYWORDS = new Set(['if', 'else', 'and', 'or', 'not', 'True', 'False']);
const COMPARE_OPS = new Set<string>(['<', '>', '<=', '>=', '==', '!=']);

/** A parse error; the caller adds which option and where. */
export class ExpressionSyntaxError extends Error {}

interface Token {
  t: 'num' | 'name' | 'op' | 'end';
  s: string;
  pos: number;
}

function tokenize(src: string): Token[] {
  // sticky regexes carry lastIndex, so each call gets its own
  const tokenRe = /(\d+\.\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|\d+(?:[eE][-+]?\d+)?)|([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)|(\*\*|<<|>>|<=|>=|==|!=|[-+*/<>(),])/y;
  const out: Token[] = [];
  let pos = 0;
  for (;;) {
    while (pos < src.length && /\s/.test(src[pos] ?? '')) pos++;
    if (pos >= src.length) break;
    tokenRe.lastIndex = pos;
    const m = tokenRe.exec(src);
    if (!m) throw new ExpressionSyntaxError(`unsupported syntax at ${JSON.stringify(src.slice(pos, pos + 12))} (column ${pos + 1})`);
    if (m[1] !== undefined) out.push({ t: 'num', s: m[1], pos });
    else if (m[2] !== undefined) out.push({ t: 'name', s: m[2], pos });
    else out.push({ t: 'op', s: m[3] ?? '', pos });
    pos = tokenRe.lastIndex;
  }
  out.push({ t: 'end', s: '', pos: src.length });
  return out;
}

/**
 * Parses `src`; names other than `variables` and FUNCTIONS are refused, so a formula can only
 * compute a number from the values it is given.
 */
export function parseExpression(src: string, variables: readonly string[]): Expr {
  const tokens = tokenize(src);
  let i = 0;
  const peek = (): Token => tokens[i] as Token;
  const isOp = (s: string): boolean => peek().t === 'op' && peek().s === s;
  const isKw = (s: string): boolean => peek().t === 'name' && peek().s === s;
  const fail = (what: string): never => {
    const tok = peek();
    const near = tok.t === 'end' ? 'the end' : JSON.stringify(tok.s);
    throw new ExpressionSyntaxError(`${what} at ${near} (column ${tok.pos + 1})`);
  };
  const expectOp = (s: string): void => {
    if (!isOp(s)) fail(`expected "${s}"`);
    i++;
  };

  function expr(): Expr {
    const value = orTest();
    if (!isKw('if')) return value;
    i++;
    const cond = orTest();
    if (!isKw('else')) fail('expected "else"');
    i++;
    return { k: 'if', cond, then: value, else: expr() };
  }
  function orTest(): Expr {
    let l = andTest();
    while (isKw('or')) {
      i++;
      l = { k: 'or', l, r: andTest() };
    }
    return l;
  }
  function andTest(): Expr {
    let l = notTest();
    while (isKw('and')) {
      i++;
      l = { k: 'and', l, r: notTest() };
    }
    return l;
  }
  function notTest(): Expr {
    if (isKw('not')) {
      i++;
      return { k: 'not', e: notTest() };
    }
    return comparison();
  }
  function comparison(): Expr {
    const first = shift();
    const ops: CompareOp[] = [];
    const operands = [first];
    while (peek().t === 'op' && COMPARE_OPS.has(peek().s)) {
      ops.push(peek().s as CompareOp);
      i++;
      operands.push(shift());
    }
    return ops.length === 0 ? first : { k: 'cmp', ops, operands };
  }
  function binaryLevel(next: () => Expr, ops: readonly BinaryOp[]): () => Expr {
    return () => {
      let l = next();
      while (peek().t === 'op' && (ops as readonly string[]).includes(peek().s)) {
        const op = peek().s as BinaryOp;
        i++;
        l = { k: 'bin', op, l, r: next() };
      }
      return l;
    };
  }
  function factor(): Expr {
    if (isOp('-')) {
      i++;
      return { k: 'neg', e: factor() };
    }
    if (isOp('+')) {
      i++;
      return factor();
    }
    return power();
  }
  const term = binaryLevel(factor, ['*', '/']);
  const arith = binaryLevel(term, ['+', '-']);
  const shift = binaryLevel(arith, ['<<', '>>']);
  function power(): Expr {
    const base = primary();
    if (!isOp('**')) return base;
    i++;
    // right-associative, and binds tighter than a unary minus on its left: -2**2 == -4
    return { k: 'bin', op: '**', l: base, r: factor() };
  }
  function primary(): Expr {
    const tok = peek();
    if (tok.t === 'num') {
      i++;
      return { k: 'num', v: Number(tok.s) };
    }
    if (isOp('(')) {
      i++;
      const e = expr();
      expectOp(')');
      return e;
    }
    if (tok.t === 'name') {
      if (tok.s === 'True' || tok.s === 'False') {
        i++;
        return { k: 'num', v: tok.s === 'True' ? 1 : 0 };
      }
      if (KEYWORDS.has(tok.s)) fail('unexpected keyword');
      i++;
      if (isOp('(')) return call(tok);
      if (!variables.includes(tok.s)) {
        throw new ExpressionSyntaxError(`unknown name ${JSON.stringify(tok.s)} (column ${tok.pos + 1}); allowed: ${variables.join(', ') || 'none'}`);
      }
      return { k: 'var', name: tok.s };
    }
    return fail('expected a number, a name or "("');
  }
  function call(tok: Token): Expr {
    const spec = FUNCTIONS[tok.s];
    if (!spec) {
      throw new ExpressionSyntaxError(`unknown function ${JSON.stringify(tok.s)} (column ${tok.pos + 1}); allowed: ${Object.keys(FUNCTIONS).join(', ')}`);
    }
    expectOp('(');
    const args: Expr[] = [];
    if (!isOp(')')) {
      args.push(expr());
      while (isOp(',')) {
        i++;
        args.push(expr());
      }
    }
    expectOp(')');
    if (args.length < spec.min || args.length > spec.max) {
      const want = spec.min === spec.max ? `${spec.min}` : `${spec.min} to ${spec.max}`;
      throw new ExpressionSyntaxError(`${tok.s}() takes ${want} arguments, got ${args.length}`);
    }
    return { k: 'call', fn: tok.s, args };
  }

  if (src.trim() === '') throw new ExpressionSyntaxError('the expression is empty');
  const tree = expr();
  if (peek().t !== 'end') fail('unexpected input');
  return tree;
}
