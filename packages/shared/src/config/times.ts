import { PortcullisError } from '../errors.js';
import type { SourceRef } from './types.js';

/**
 * fail2ban's MyTime.str2seconds: unit words are rewritten into `*seconds`, groups separated by
 * spaces are added, and the result is evaluated as arithmetic (`1h 30m`, `1d12h`, `1.5h`,
 * `1year-6mo`, `2*1h`). fail2ban uses Python's eval; here a small evaluator accepts only numbers,
 * + - * / and parentheses.
 */

const DAY = 24 * 60 * 60;
/** A month is a year / 12, a year 365.25 days (leap years respected), as in fail2ban. */
const YEAR = ((365 * 3 + 366) * DAY) / 4;

// Order matters: months before minutes so `mo`/`mon` are not read as `m` + `o`.
const UNIT_PARTS: ReadonlyArray<readonly [RegExp, number]> = [
  [unit('days?|da|dd?'), DAY],
  [unit('weeks?|wee?|ww?'), 7 * DAY],
  [unit('months?|mon?'), YEAR / 12],
  [unit('years?|yea?|yy?'), YEAR],
  [unit('seconds?|sec?|ss?'), 1],
  [unit('minutes?|min?|mm?'), 60],
  [unit('hours?|hou?|hh?'), 60 * 60],
];

function unit(words: string): RegExp {
  return new RegExp(`(?<=[\\d\\s])(${words})\\b`, 'gi');
}

const HELP = 'use seconds (600), units (30s, 10m, 1h, 1d, 1w, 1mo, 1y), combinations (1h 30m, 1d12h) or -1 for permanent';

/** Seconds (possibly fractional or negative) for a fail2ban time value; `what` names it in errors. */
export function parseDuration(text: string, ref?: SourceRef, what = 'duration'): number {
  const fail = (why: string): PortcullisError =>
    new PortcullisError('PC_CONFIG_INVALID', `${what} ${JSON.stringify(text)} is invalid: ${why}; ${HELP}`, ref ? { location: ref } : {});
  const source = text.trim();
  if (source === '') throw fail('it is empty');
  // '1d12h' -> '1d 12h'
  let expr = source.replace(/(?<=[a-z])(\d)/gi, ' $1');
  for (const [re, seconds] of UNIT_PARTS) expr = expr.replace(re, `*${seconds}`);
  expr = expr.replace(/(\d)\s+(\d)/g, '$1+$2');
  const value = evaluate(expr);
  if (value === undefined) throw fail('it is not a number of seconds or a time expression');
  return value;
}

/** Arithmetic over numbers with + - * / and parentheses; undefined on anything else. */
function evaluate(expr: string): number | undefined {
  const tokens = expr.match(/\d+(?:\.\d*)?|\.\d+|[-+*/()]|\S/g) ?? [];
  let pos = 0;
  const peek = (): string | undefined => tokens[pos];

  function sum(): number | undefined {
    let left = product();
    while (left !== undefined && (peek() === '+' || peek() === '-')) {
      const op = tokens[pos++];
      const right = product();
      if (right === undefined) return undefined;
      left = op === '+' ? left + right : left - right;
    }
    return left;
  }
  function product(): number | undefined {
    let left = unary();
    while (left !== undefined && (peek() === '*' || peek() === '/')) {
      const op = tokens[pos++];
      const right = unary();
      if (right === undefined) return undefined;
      left = op === '*' ? left * right : left / right;
    }
    return left;
  }
  function unary(): number | undefined {
    const t = peek();
    if (t === '-' || t === '+') {
      pos++;
      const v = unary();
      return v === undefined ? undefined : t === '-' ? -v : v;
    }
    if (t === '(') {
      pos++;
      const v = sum();
      if (peek() !== ')') return undefined;
      pos++;
      return v;
    }
    if (t !== undefined && /^(?:\d|\.\d)/.test(t)) {
      pos++;
      return Number(t);
    }
    return undefined;
  }

  const result = sum();
  if (result === undefined || pos !== tokens.length || !Number.isFinite(result)) return undefined;
  return result;
}
