import RE2 from 're2';
import type { Ranges, UnicodeTables } from './regex/charset.js';
import { removeConditionals } from './regex/conditional.js';
import type { Program } from './regex/backtrack.js';
import { compileProgram, NotCompilable } from './regex/backtrack.js';
import { emitRe2, UnsupportedConstruct } from './regex/emit-re2.js';
import { requiredLiterals } from './regex/literals.js';
import { alwaysPresent, charsBeforeCapture, leadingCapture } from './regex/shape.js';
import { eliminateLookarounds } from './regex/lookaround.js';
import { parsePythonRegex, RegexSyntaxError } from './regex/parse-python.js';
import { globalToLocalFlags, resolveTags } from './tags.js';

/**
 * A fail2ban (Python re) pattern translated to RE2. Captures are renamed g<N> in RE2 because a
 * rewrite may copy a group into several branches; `groups` maps them back, in pattern order (when
 * several copies of one Python group matched, the last one is the value, as for a repeated group).
 */
export interface TranslatedRegex {
  /** The pattern as written (before tag substitution). */
  original: string;
  source: string;
  re2: RE2;
  groups: ReadonlyArray<{ re2: string; name: string }>;
  /** Distinct Python group names. */
  names: readonly string[];
  /** Contains an ASCII-only \b: exact only on lines whose word characters are ASCII. */
  asciiBoundary: boolean;
  skipLines: number;
  /**
   * The same pattern for the in-process engine (ASCII text only, see regex/backtrack.ts); its
   * capture k (slots 2k, 2k+1) is `groups[k - 1]`. Undefined when only RE2 can run it.
   */
  program: Program | undefined;
  /**
   * Necessary condition for a match: every clause has a string the subject contains (a clause is
   * any-of). Empty: nothing is known. Strings never contain a newline.
   */
  literals: readonly (readonly string[])[];
  /** Groups that take part, with a non-empty value, in every match (e.g. nofail, mlfforget). */
  always: ReadonlySet<string>;
  /** The capture that starts every match at the beginning of the subject (\A(?P<mlfid>...)), if any. */
  leadingGroup: string | undefined;
  /** With TranslateOptions.charsBefore: the characters that can come right before that capture. */
  charsBefore?: Ranges;
}

export class TranslateError extends Error {
  constructor(
    message: string,
    readonly construct: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface TranslateOptions {
  tables: UnicodeTables;
  useDns?: string;
  /** Upper bound on rewrite work; keeps hostile or pathological patterns from exploding. */
  budget?: number;
  /** Unnamed Python groups to keep by number (e.g. '1' for date templates). */
  keepNumbered?: readonly string[];
  /** Substitute fail2ban tags (<HOST>...) first; off for date patterns. */
  tags?: boolean;
  /** Compile with match indices (the 'd' flag), for callers that need group positions. */
  indices?: boolean;
  /** Python's re.MULTILINE from the start (fail2ban's failregex when maxlines > 1). */
  multiline?: boolean;
  /** Compute TranslatedRegex.charsBefore for this capture; date templates use '1' (the date text). */
  charsBefore?: string;
}

export function translatePattern(pattern: string, opts: TranslateOptions): TranslatedRegex {
  const tagged = opts.tags === false ? { pattern, skipLines: 0 } : resolveTags(pattern, { useDns: opts.useDns ?? 'yes' });
  if (tagged.pattern.trim() === '') throw new TranslateError('empty pattern', 'empty pattern');
  const py = globalToLocalFlags(tagged.pattern);
  let emitted;
  let plain;
  try {
    const parsed = parsePythonRegex(py, { multiline: opts.multiline === true });
    let maxId = parsed.maxId;
    const nextId = (): number => ++maxId;
    const noCond = removeConditionals(parsed.root, { next: nextId });
    const budget = { left: opts.budget ?? 200_000 };
    plain = eliminateLookarounds(noCond, { tables: opts.tables, nextId, budget });
    emitted = emitRe2(plain, opts.tables, new Set(opts.keepNumbered ?? []));
  } catch (e) {
    if (e instanceof RegexSyntaxError) throw new TranslateError(`invalid pattern: ${e.message}`, e.construct, { cause: e });
    if (e instanceof UnsupportedConstruct) throw new TranslateError(e.message, e.construct, { cause: e });
    throw e;
  }
  if (emitted.source.length > 1_000_000) throw new TranslateError('RE2 rewrite is too large', 'pattern too large after rewrite');
  let re2: RE2;
  try {
    re2 = new RE2(emitted.source, opts.indices ? 'du' : 'u');
  } catch (e) {
    throw new TranslateError(`RE2 rejected the rewritten pattern: ${(e as Error).message}`, 'RE2 compile', { cause: e });
  }
  const names = [...new Set(emitted.groups.map((g) => g.name))];
  let program: Program | undefined;
  try {
    program = compileProgram(plain, opts.tables, emitted.groups.map((g) => Number(g.re2.slice(1))));
  } catch (e) {
    if (!(e instanceof NotCompilable)) throw e;
  }
  return {
    original: pattern,
    source: emitted.source,
    re2,
    groups: emitted.groups,
    names,
    asciiBoundary: emitted.asciiBoundary,
    skipLines: tagged.skipLines,
    program,
    literals: requiredLiterals(plain, opts.tables),
    always: alwaysPresent(plain),
    leadingGroup: leadingCapture(plain),
    ...(opts.charsBefore === undefined ? {} : { charsBefore: charsBeforeCapture(plain, opts.charsBefore, opts.tables) }),
  };
}

/**
 * Groups of a match by Python name; a name absent from the result did not participate (Python None).
 * The last participating copy wins (see TranslatedRegex).
 */
export function extractGroups(t: TranslatedRegex, m: RegExpExecArray): Record<string, string> {
  const out: Record<string, string> = {};
  const g = m.groups;
  if (!g) return out;
  for (const { re2, name } of t.groups) {
    const v = g[re2];
    if (v !== undefined) out[name] = v;
  }
  return out;
}
