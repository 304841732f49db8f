import type { TranslatedRegex } from './translate.js';

/**
 * Which of a filter's patterns can match a line, from their required strings (regex/literals.ts),
 * before any engine runs. One scan with a literal alternation answers "none" for most lines of a
 * log; only lines that pass it check the patterns' clauses one by one.
 *
 * Sound: a pattern is only skipped when a string it cannot match without is absent from the text
 * (the date-stripped line, of which the prefregex content is a part).
 */
export class Prefilter {
  private readonly gate: RegExp;

  private constructor(
    private readonly fail: ReadonlyArray<readonly (readonly string[])[]>,
    private readonly ignore: ReadonlyArray<readonly (readonly string[])[]>,
    gateStrings: readonly string[],
  ) {
    // A plain alternation of literals: irregexp scans it in linear time (no nested quantifiers).
    this.gate = new RegExp(gateStrings.map(escape).join('|'));
  }

  /**
   * Undefined when some failregex has no required string (every line is a candidate for it), or
   * for multi-line filters (a buffer spans lines). `earlyIgnore`: ignoreregex runs on lines no
   * failregex matches, so its candidates count too.
   */
  static build(prefregex: TranslatedRegex | undefined, failregex: readonly TranslatedRegex[], ignoreregex: readonly TranslatedRegex[], earlyIgnore: boolean): Prefilter | undefined {
    const pre = prefregex?.literals ?? [];
    const fail = failregex.map((r) => [...pre, ...r.literals]);
    if (fail.some((c) => c.length === 0)) return undefined;
    const ignore = earlyIgnore ? ignoreregex.map((r) => r.literals) : [];
    if (ignore.some((c) => c.length === 0)) return undefined;
    // The gate holds the first (most selective) clause of every pattern.
    const gate = new Set<string>();
    for (const c of [...fail, ...ignore]) for (const s of c[0] as readonly string[]) gate.add(s);
    return new Prefilter(fail, ignore, [...gate]);
  }

  /** False: no failregex (nor early ignoreregex) can match `text`. */
  any(text: string): boolean {
    return this.gate.test(text);
  }

  /** Whether failregex i can match `text` (all its clauses met). */
  failCandidate(i: number, text: string): boolean {
    return clausesMet(this.fail[i] as readonly (readonly string[])[], text);
  }

  anyFailCandidate(text: string): boolean {
    for (let i = 0; i < this.fail.length; i++) if (this.failCandidate(i, text)) return true;
    return false;
  }

  anyIgnoreCandidate(text: string): boolean {
    for (const c of this.ignore) if (clausesMet(c, text)) return true;
    return false;
  }
}

function clausesMet(clauses: readonly (readonly string[])[], text: string): boolean {
  for (const clause of clauses) {
    let found = false;
    for (const s of clause) {
      if (text.includes(s)) {
        found = true;
        break;
      }
    }
    if (!found) return false;
  }
  return true;
}

function escape(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&').replace(/[\u0000-\u001f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
