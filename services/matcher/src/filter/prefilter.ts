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
  /** Test only: does any first-clause string occur? */
  private readonly gate: RegExp;
  /** The same strings longest first, to list every occurrence (global, restarted one past each hit). */
  private readonly scanner: RegExp;
  private readonly litIndex = new Map<string, number>();
  /** Literal id -> ids of literals that are prefixes of it (itself included): present whenever it is. */
  private readonly prefixes: number[][];
  /** Literal id -> failregex indexes whose first clause holds it. */
  private readonly failByLit: number[][];
  /** Literal id -> ignoreregex indexes whose first clause holds it. */
  private readonly ignoreByLit: number[][];
  private readonly present: Uint8Array;
  private readonly seen: number[] = [];

  private constructor(
    private readonly fail: ReadonlyArray<readonly (readonly string[])[]>,
    private readonly ignore: ReadonlyArray<readonly (readonly string[])[]>,
  ) {
    const lits = [...new Set([...fail, ...ignore].flatMap((c) => c[0] as readonly string[]))].sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
    lits.forEach((l, i) => this.litIndex.set(l, i));
    this.prefixes = lits.map((l) => lits.flatMap((p, j) => (l.startsWith(p) ? [j] : [])));
    const byLit = (list: ReadonlyArray<readonly (readonly string[])[]>): number[][] => {
      const out: number[][] = lits.map(() => []);
      list.forEach((c, i) => {
        for (const l of c[0] as readonly string[]) (out[this.litIndex.get(l) as number] as number[]).push(i);
      });
      return out;
    };
    this.failByLit = byLit(fail);
    this.ignoreByLit = byLit(ignore);
    this.present = new Uint8Array(lits.length);
    // Plain alternations of literals: irregexp scans them in linear time (no nested quantifiers).
    const alternation = lits.map(escape).join('|');
    this.gate = new RegExp(alternation);
    this.scanner = new RegExp(alternation, 'g');
  }

  /**
   * Undefined when some failregex has no required string (every line is a candidate for it), or
   * for multi-line filters (a buffer spans lines). `earlyIgnore`: ignoreregex runs on lines no
   * failregex matches, so its candidates count too.
   */
  static build(prefregex: TranslatedRegex | undefined, failregex: readonly TranslatedRegex[], ignoreregex: readonly TranslatedRegex[], earlyIgnore: boolean): Prefilter | undefined {
    const pre = prefregex?.literals ?? [];
    // The regex's own clauses first: its most selective one becomes the scanned one.
    const fail = failregex.map((r) => [...r.literals, ...pre]);
    if (fail.some((c) => c.length === 0)) return undefined;
    const ignore = earlyIgnore ? ignoreregex.map((r) => r.literals) : [];
    if (ignore.some((c) => c.length === 0)) return undefined;
    return new Prefilter(fail, ignore);
  }

  /** False: no failregex (nor early ignoreregex) can match `text`. */
  any(text: string): boolean {
    return this.gate.test(text);
  }

  /**
   * Marks in `cand` (one byte per failregex) the failregexes whose clauses are all met; returns
   * how many, and sets `ignoreCandidate` when an early ignoreregex could match.
   */
  candidates(text: string, cand: Uint8Array): number {
    cand.fill(0);
    this.ignoreCandidate = false;
    const present = this.present;
    const seen = this.seen;
    const scanner = this.scanner;
    scanner.lastIndex = 0;
    for (let m = scanner.exec(text); m; m = scanner.exec(text)) {
      for (const id of this.prefixes[this.litIndex.get(m[0]) as number] as number[]) {
        if (present[id] === 0) {
          present[id] = 1;
          seen.push(id);
        }
      }
      scanner.lastIndex = m.index + 1;
    }
    let count = 0;
    for (const id of seen) {
      present[id] = 0;
      for (const i of this.failByLit[id] as number[]) {
        if (cand[i] === 0 && clausesMet(this.fail[i] as readonly (readonly string[])[], text, 1)) {
          cand[i] = 1;
          count++;
        }
      }
      if (!this.ignoreCandidate) {
        for (const i of this.ignoreByLit[id] as number[]) {
          if (clausesMet(this.ignore[i] as readonly (readonly string[])[], text, 1)) this.ignoreCandidate = true;
        }
      }
    }
    seen.length = 0;
    return count;
  }

  /** Set by candidates(): an early ignoreregex could match the text. */
  ignoreCandidate = false;
}

function clausesMet(clauses: readonly (readonly string[])[], text: string, from: number): boolean {
  for (let c = from; c < clauses.length; c++) {
    const clause = clauses[c] as readonly string[];
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
  // eslint-disable-next-line no-control-regex -- control characters are exactly what must be escaped
  return s.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&').replace(/[\u0000-\u001f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
