import type { Ranges } from './regex/charset.js';
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
  /** The first-clause strings, to list every occurrence (global, restarted one past each hit; the longest one at a place). */
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

  /**
   * Test on the raw line (before the date is cut out): false means no pattern can match it. See
   * gateStrings for why a string of the cut text must have left a trace in the raw line.
   */
  readonly gate: RegExp;

  private constructor(
    private readonly fail: ReadonlyArray<readonly (readonly string[])[]>,
    private readonly ignore: ReadonlyArray<readonly (readonly string[])[]>,
    dateCharsBefore: Ranges,
  ) {
    this.gate = gateRegExp([...fail, ...ignore].flatMap((clauses) => bestGateClause(clauses, dateCharsBefore)));
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
    this.scanner = new RegExp(trieSource(lits), 'g');
  }

  /**
   * Undefined when some failregex has no required string (every line is a candidate for it), or
   * for multi-line filters (a buffer spans lines). `earlyIgnore`: ignoreregex runs on lines no
   * failregex matches, so its candidates count too. `dateCharsBefore`: the characters a line can
   * have right before a date text the filter's templates find (none without dates).
   */
  static build(
    prefregex: TranslatedRegex | undefined,
    failregex: readonly TranslatedRegex[],
    ignoreregex: readonly TranslatedRegex[],
    earlyIgnore: boolean,
    dateCharsBefore: Ranges,
  ): Prefilter | undefined {
    const pre = prefregex?.literals ?? [];
    // The regex's own clauses first: its most selective one becomes the scanned one.
    const fail = failregex.map((r) => [...r.literals, ...pre]);
    if (fail.some((c) => c.length === 0)) return undefined;
    const ignore = earlyIgnore ? ignoreregex.map((r) => r.literals) : [];
    if (ignore.some((c) => c.length === 0)) return undefined;
    return new Prefilter(fail, ignore, dateCharsBefore);
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


/**
 * Strings the raw line must contain (one of them) when the date-cut text contains `s`. The text
 * is the line with the date text line[a, b) taken out: P + S, P = line[0, a), S = line[b, ...).
 * An occurrence of s in P or in S is in the line. One across the cut is x + y, x a non-empty end
 * of P and y a non-empty start of S, both in the line, and x ends with a character that can come
 * right before a date text (`before`, from the templates): s can only be cut at such places K.
 * - No such place: s itself is in the line.
 * - A piece of s between two places of K (or an end of s) lies within s, x or y: it is in the line.
 * - With consecutive places p < q of K: every cut is at or after q (then s[0, q) is within x) or
 *   at or before p (then s[p, ...) is within y), so one of those two is in the line; likewise
 *   s[0, first place) alone and s[last place, ...) alone.
 * Any part of such a string is in the line too: surrounding spaces are dropped (a space-led
 * string makes the scan stop at every word). The option whose shortest string is longest wins.
 */
export function gateStrings(s: string, before: Ranges): string[] {
  const cuts: number[] = [];
  if (before.length > 0) for (let k = 1; k < s.length; k++) if (canPrecedeCut(s.charCodeAt(k - 1), before)) cuts.push(k);
  if (cuts.length === 0) return [trimmed(s)];
  const options: string[][] = [];
  const bounds = [0, ...cuts, s.length];
  for (let i = 0; i + 1 < bounds.length; i++) options.push([s.slice(bounds[i], bounds[i + 1])]);
  options.push([s.slice(0, cuts[0])], [s.slice(cuts[cuts.length - 1] as number)]);
  for (let i = 1; i < cuts.length; i++) options.push([s.slice(0, cuts[i]), s.slice(cuts[i - 1] as number)]);
  let best: string[] = [];
  let bestLen = -1;
  for (const o of options) {
    const t = o.map(trimmed);
    const len = Math.min(...t.map((x) => x.length));
    if (len > bestLen) {
      best = t;
      bestLen = len;
    }
  }
  return best;
}

/** The string without surrounding spaces, unless nothing else is left. */
function trimmed(s: string): string {
  const t = s.trim();
  return t === '' ? s : t;
}

/** Whether the UTF-16 unit can end the part of a line before a date (a surrogate: assume so). */
function canPrecedeCut(unit: number, before: Ranges): boolean {
  if (unit >= 0xd800 && unit <= 0xdfff) return true;
  for (let i = 0; i < before.length; i += 2) {
    if (unit < (before[i] as number)) return false;
    if (unit <= (before[i + 1] as number)) return true;
  }
  return false;
}

/** Of a pattern's clauses (any string of each must occur), the one whose gate strings are longest. */
function bestGateClause(clauses: readonly (readonly string[])[], before: Ranges): string[] {
  let best: string[] = [];
  let bestLen = -1;
  for (const c of clauses) {
    const strings = c.flatMap((s) => gateStrings(s, before));
    const len = Math.min(...strings.map((s) => s.length));
    if (len > bestLen) {
      best = strings;
      bestLen = len;
    }
  }
  return best;
}

/** One irregexp test for "any of these strings"; strings that contain another are redundant. */
function gateRegExp(strings: readonly string[]): RegExp {
  const uniq = [...new Set(strings)];
  return new RegExp(trieSource(uniq.filter((s) => !uniq.some((t) => t !== s && s.includes(t)))));
}

/**
 * The strings as one pattern written as a trie, so each position costs one character test per
 * level instead of one per string; where one string extends another the longer is tried first, so
 * a match is the longest string at its place. Literals only: linear time.
 */
function trieSource(strings: readonly string[]): string {
  interface TrieNode {
    end: boolean;
    next: Map<string, TrieNode>;
  }
  const root: TrieNode = { end: false, next: new Map() };
  for (const s of strings) {
    let n = root;
    for (let i = 0; i < s.length; i++) {
      const c = s[i] as string;
      let m = n.next.get(c);
      if (!m) {
        m = { end: false, next: new Map() };
        n.next.set(c, m);
      }
      n = m;
    }
    n.end = true;
  }
  const emit = (n: TrieNode): string => {
    const parts = [...n.next].map(([c, m]) => escapeUnit(c) + emit(m));
    if (parts.length === 0) return '';
    const body = parts.length === 1 ? (parts[0] as string) : `(?:${parts.join('|')})`;
    return n.end ? `(?:${body})?` : body;
  };
  return emit(root);
}

function escapeUnit(c: string): string {
  return /[A-Za-z0-9 ]/.test(c) ? c : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
}
