import { describe, expect, it } from 'vitest';
import { evaluate, ExpressionEvalError } from '../../src/escalation/expression-eval.js';
import { ExpressionSyntaxError, parseExpression } from '../../src/escalation/expression-parser.js';

const VARS = ['ban.Time', 'ban.Count', 'banFactor'];
const run = (src: string, vars: Record<string, number> = {}): number => evaluate(parseExpression(src, VARS), vars);

describe('formula expressions (Python semantics)', () => {
  it('follows Python precedence and associativity', () => {
    // each expected value is what python3 prints for the same expression
    expect(run('2 + 3 * 4')).toBe(14);
    expect(run('-2**2')).toBe(-4);
    expect(run('2**3**2')).toBe(512);
    expect(run('2**-1')).toBe(0.5);
    expect(run('1 << 2 + 1')).toBe(8);
    expect(run('7 / 2')).toBe(3.5);
    expect(run('(1 << 20) >> 3')).toBe(131072);
    expect(run('1 << 40')).toBe(1099511627776); // Python ints are not 32-bit
    expect(run('-7 >> 1')).toBe(-4);
    expect(run('1 < 2 < 3')).toBe(1);
    expect(run('3 > 2 > 2')).toBe(0);
    expect(run('1 if 0 else 2 if 1 else 3')).toBe(2);
    expect(run('not 0 and 5 or 6')).toBe(5);
    expect(run('int(-2.7) + float(3)')).toBe(1);
    expect(run('max(1, 5, 3) - min(4, 2)')).toBe(3);
    expect(run('math.log(8, 2) + math.sqrt(16) + math.exp(0)')).toBe(8);
    expect(run('True + True')).toBe(2);
  });

  it("evaluates fail2ban's default formula", () => {
    const f = 'ban.Time * (1<<(ban.Count if ban.Count<20 else 20)) * banFactor';
    expect(run(f, { 'ban.Time': 600, 'ban.Count': 3, banFactor: 1 })).toBe(4800);
    expect(run(f, { 'ban.Time': 600, 'ban.Count': 25, banFactor: 1 })).toBe(600 * 2 ** 20);
  });

  it('refuses anything that is not arithmetic over the given names', () => {
    const bad = [
      "__import__('os').system('id')",
      'ban.Time.__class__',
      'eval("1")',
      'ban.Time; 1',
      'lambda: 1',
      '[1, 2][0]',
      'ban.Time * x',
      'math.pow(2, 3)',
      'ban.Time if 1',
      'min(1)',
      '',
      '1 +',
      '"600"',
      'ban.Time % 7',
    ];
    for (const src of bad) expect(() => parseExpression(src, VARS), src).toThrow(ExpressionSyntaxError);
  });

  it("raises Python's runtime errors as evaluation errors", () => {
    for (const src of ['1 / 0', 'math.log(0)', 'math.sqrt(-1)', '1 << 1.5', '1 << -1', '(-8) ** 0.5', '0 ** -1', 'int(1e400 * 10)']) {
      expect(() => run(src), src).toThrow(ExpressionEvalError);
    }
  });
});
