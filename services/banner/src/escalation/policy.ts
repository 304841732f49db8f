import { parseBool, parseDuration, PortcullisError, type JailConfig } from '@portcullis/shared';
import { evaluate, ExpressionEvalError } from './expression-eval.js';
import { ExpressionSyntaxError, parseExpression, type Expr } from './expression-parser.js';

/** fail2ban's default `bantime.formula` (jail.conf). */
export const DEFAULT_FORMULA = 'ban.Time * (1<<(ban.Count if ban.Count<20 else 20)) * banFactor';
/**
 * Longest ban an escalation may produce: 2^31-1 seconds (68 years). fail2ban has no bound, but an
 * unbounded formula (math.exp) would otherwise produce ban ends no firewall timeout can hold.
 */
export const MAX_ESCALATED_BANTIME = 2 ** 31 - 1;
/** Ban counts tried when the config is loaded, so a formula that fails does so at start. */
const PROBE_COUNTS = 64;

const OPTIONS = ['increment', 'factor', 'formula', 'multipliers', 'maxtime', 'rndtime', 'overalljails'] as const;

/**
 * How one jail's ban time grows with an address's previous bans, as fail2ban's `bantime.*` options
 * define it (server/jail.py setBanTimeExtra, server/observer.py incrBanTime). Frozen; built once at
 * start from the jail's options.
 */
export interface EscalationPolicy {
  readonly jail: string;
  /** The jail's bantime in seconds, -1 = permanent. */
  readonly bantime: number;
  readonly increment: boolean;
  readonly overallJails: boolean;
  readonly factor: number;
  /** The formula in effect (fail2ban's default when unset); unused when multipliers are set. */
  readonly formula: string;
  readonly multipliers: readonly number[];
  readonly maxtime: number | null;
  readonly rndtime: number | null;
  /** Unknown `bantime.*` options (fail2ban ignores them silently; we let the banner log them). */
  readonly warnings: readonly string[];
  /**
   * The ban time in seconds (-1 = permanent) for a ban of an address that was banned
   * `previousBanCount` times before (in this jail, or in all jails with overalljails). `rnd` returns
   * a number in [0, 1) for bantime.rndtime.
   */
  banTimeFor(previousBanCount: number, rnd: () => number): number;
}

export function createEscalationPolicy(jail: JailConfig): EscalationPolicy {
  const opt = (name: (typeof OPTIONS)[number]): string | undefined => {
    // fail2ban treats an empty value as unset
    const v = jail.options[`bantime.${name}`]?.trim();
    return v === undefined || v === '' ? undefined : v;
  };
  const fail = (name: string, why: string, cause?: unknown): PortcullisError =>
    new PortcullisError('PC_CONFIG_INVALID', `bantime.${name} ${why} (jail [${jail.name}])`, { location: jail.ref, ...(cause ? { cause } : {}) });

  const bool = (name: 'increment' | 'overalljails'): boolean => {
    const v = opt(name);
    if (v === undefined) return false;
    try {
      return parseBool(`bantime.${name}`, v);
    } catch (e) {
      throw fail(name, `must be true or false, got ${JSON.stringify(v)}`, e);
    }
  };
  const duration = (name: 'maxtime' | 'rndtime', allowZero: boolean): number | null => {
    const v = opt(name);
    if (v === undefined) return null;
    let s: number;
    try {
      s = parseDuration(v, jail.ref, `bantime.${name}`);
    } catch (e) {
      throw fail(name, `is not a duration: ${JSON.stringify(v)}`, e);
    }
    if (s < 0 || (!allowZero && s === 0)) throw fail(name, `must be ${allowZero ? 'zero or more' : 'longer than zero'}, got ${JSON.stringify(v)}`);
    return s;
  };

  const increment = bool('increment');
  const overallJails = bool('overalljails');
  const factor = parseFactor(opt('factor'), fail);
  const multipliers = parseMultipliers(opt('multipliers'), fail);
  const formulaText = opt('formula') ?? DEFAULT_FORMULA;
  const formula = compileFormula(formulaText, fail);
  const maxtime = duration('maxtime', false);
  const rndtime = duration('rndtime', true);
  const bantime = jail.bantime;

  const formulaTime = (count: number): number => {
    const v = evaluate(formula, { 'ban.Time': bantime, 'ban.Count': count, banFactor: factor });
    if (Number.isNaN(v)) throw new ExpressionEvalError('the result is not a number');
    return v;
  };
  if (bantime > 0 && multipliers.length === 0) {
    for (let n = 1; n <= PROBE_COUNTS; n++) {
      try {
        formulaTime(n);
      } catch (e) {
        throw fail('formula', `fails for ban.Count = ${n}: ${(e as Error).message}`, e);
      }
    }
  }

  const banTimeFor = (previousBanCount: number, rnd: () => number): number => {
    const n = Math.max(0, Math.floor(previousBanCount));
    // observer.incrBanTime: only a positive bantime grows, and only for an address banned before
    if (!increment || bantime <= 0 || n === 0) return bantime;
    let t: number;
    if (multipliers.length > 0) {
      t = bantime * factor * (multipliers[Math.min(n, multipliers.length - 1)] as number);
    } else {
      try {
        t = Math.max(bantime, formulaTime(n));
      } catch {
        // fail2ban logs the exception and bans for the jail's bantime
        return bantime;
      }
    }
    if (maxtime !== null) t = Math.min(t, maxtime);
    if (rndtime !== null) t += rnd() * rndtime;
    return Math.min(MAX_ESCALATED_BANTIME, Math.max(1, Math.round(t)));
  };

  const warnings = Object.keys(jail.options)
    .filter((k) => k.startsWith('bantime.') && !(OPTIONS as readonly string[]).includes(k.slice('bantime.'.length)))
    .map((k) => `unknown option ${k} in jail [${jail.name}] is ignored (known: ${OPTIONS.map((o) => `bantime.${o}`).join(', ')})`);

  return Object.freeze({
    jail: jail.name,
    bantime,
    increment,
    overallJails,
    factor,
    formula: formulaText,
    multipliers: Object.freeze([...multipliers]),
    maxtime,
    rndtime,
    warnings: Object.freeze(warnings),
    banTimeFor,
  });
}

type Fail = (name: string, why: string, cause?: unknown) => PortcullisError;

/** fail2ban evaluates the factor as a Python expression too (e.g. `2.0 / 2.885385`). */
function parseFactor(text: string | undefined, fail: Fail): number {
  if (text === undefined) return 1;
  let v: number;
  try {
    v = evaluate(parseExpression(text, []), {});
  } catch (e) {
    throw fail('factor', `${JSON.stringify(text)} is not a number or arithmetic expression: ${(e as Error).message}`, e);
  }
  if (!Number.isFinite(v) || v <= 0) throw fail('factor', `must be greater than zero, got ${JSON.stringify(text)}`);
  return v;
}

function parseMultipliers(text: string | undefined, fail: Fail): number[] {
  if (text === undefined) return [];
  const words = text.split(/\s+/).filter((w) => w !== '');
  return words.map((w) => {
    if (!/^\+?\d+$/.test(w) || Number(w) < 1 || !Number.isSafeInteger(Number(w))) {
      throw fail('multipliers', `must be whole numbers of at least 1 separated by spaces, got ${JSON.stringify(w)} in ${JSON.stringify(text)}`);
    }
    return Number(w);
  });
}

function compileFormula(text: string, fail: Fail): Expr {
  try {
    return parseExpression(text, ['ban.Time', 'ban.Count', 'banFactor']);
  } catch (e) {
    if (e instanceof ExpressionSyntaxError) throw fail('formula', `${JSON.stringify(text)} is not supported: ${e.message}`, e);
    throw e;
  }
}
