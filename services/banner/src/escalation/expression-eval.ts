import type { CompareOp, Expr } from './expression-parser.js';

/**
 * A runtime failure of a formula (what Python would raise: ZeroDivisionError, ValueError,
 * TypeError for a shift by a non-integer). fail2ban catches these and keeps the jail's bantime;
 * so does the escalation policy.
 */
export class ExpressionEvalError extends Error {}

/** Evaluates a parsed expression over numbers, with Python's semantics for the supported subset. */
export function evaluate(e: Expr, vars: Readonly<Record<string, number>>): number {
  switch (e.k) {
    case 'num':
      return e.v;
    case 'var': {
      const v = vars[e.name];
      if (v === undefined) throw new ExpressionEvalError(`${e.name} has no value`);
      return v;
    }
    case 'neg':
      return -evaluate(e.e, vars);
    case 'not':
      return evaluate(e.e, vars) === 0 ? 1 : 0;
    case 'and': {
      const l = evaluate(e.l, vars);
      return l === 0 ? l : evaluate(e.r, vars);
    }
    case 'or': {
      const l = evaluate(e.l, vars);
      return l !== 0 ? l : evaluate(e.r, vars);
    }
    case 'if':
      return evaluate(e.cond, vars) !== 0 ? evaluate(e.then, vars) : evaluate(e.else, vars);
    case 'cmp':
      return compareChain(e.ops, e.operands, vars);
    case 'bin':
      return binary(e.op, evaluate(e.l, vars), evaluate(e.r, vars));
    case 'call':
      return call(e.fn, e.args.map((a) => evaluate(a, vars)));
  }
}

function compareChain(ops: readonly CompareOp[], operands: readonly Expr[], vars: Readonly<Record<string, number>>): number {
  // a < b < c is (a < b) and (b < c), each operand evaluated once, stopping at the first false
  let left = evaluate(operands[0] as Expr, vars);
  for (let i = 0; i < ops.length; i++) {
    const right = evaluate(operands[i + 1] as Expr, vars);
    if (!compare(ops[i] as CompareOp, left, right)) return 0;
    left = right;
  }
  return 1;
}

function compare(op: CompareOp, a: number, b: number): boolean {
  switch (op) {
    case '<':
      return a < b;
    case '>':
      return a > b;
    case '<=':
      return a <= b;
    case '>=':
      return a >= b;
    case '==':
      return a === b;
    case '!=':
      return a !== b;
  }
}

function binary(op: string, a: number, b: number): number {
  switch (op) {
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
      if (b === 0) throw new ExpressionEvalError('division by zero');
      return a / b;
    case '**': {
      if (a === 0 && b < 0) throw new ExpressionEvalError('0 cannot be raised to a negative power');
      const r = a ** b;
      // Python gives a complex number for a negative base and a fractional exponent
      if (Number.isNaN(r)) throw new ExpressionEvalError(`${a} ** ${b} is not a real number`);
      return r;
    }
    case '<<':
    case '>>': {
      // Python shifts integers only; JavaScript's own << is 32-bit, so shift by powers of two
      if (!Number.isInteger(a) || !Number.isInteger(b)) throw new ExpressionEvalError(`${op} needs integers, got ${a} and ${b}`);
      if (b < 0) throw new ExpressionEvalError('negative shift count');
      return op === '<<' ? a * 2 ** b : Math.floor(a / 2 ** b);
    }
    default:
      throw new ExpressionEvalError(`unknown operator ${op}`);
  }
}

function call(fn: string, args: number[]): number {
  const [x = NaN, y] = args;
  switch (fn) {
    case 'min':
      return Math.min(...args);
    case 'max':
      return Math.max(...args);
    case 'float':
      return x;
    case 'int':
      if (!Number.isFinite(x)) throw new ExpressionEvalError(`int() of ${x}`);
      return Math.trunc(x);
    case 'math.exp':
      return Math.exp(x);
    case 'math.sqrt':
      if (x < 0) throw new ExpressionEvalError('math domain error (sqrt of a negative number)');
      return Math.sqrt(x);
    case 'math.log': {
      if (x <= 0 || (y !== undefined && (y <= 0 || y === 1))) throw new ExpressionEvalError('math domain error (log)');
      return y === undefined ? Math.log(x) : Math.log(x) / Math.log(y);
    }
    default:
      throw new ExpressionEvalError(`unknown function ${fn}`);
  }
}
