import { run, RUN_ABORTED, RUN_MATCH, Scratch } from './regex/backtrack.js';
import type { TranslatedRegex } from './translate.js';
import { extractGroups } from './translate.js';

/**
 * Runs translated patterns: the in-process engine on ASCII subjects up to FAST_MAX_LENGTH, RE2
 * otherwise or when the engine's step budget runs out (both give the same answer; the engine is
 * only faster). One runner per filter: it owns the scratch buffers, and matching is synchronous.
 */
export interface RegexMatch {
  /** Subject-relative UTF-16 offsets of the whole match. */
  start: number;
  end: number;
  /** Python group name -> value (absent: did not take part). */
  groups: Record<string, string>;
}

/** Longer subjects go to RE2 directly (its DFA keeps hostile lines linear). */
export const FAST_MAX_LENGTH = 4096;

// eslint-disable-next-line no-control-regex -- the ASCII range starts at NUL on purpose
const NON_ASCII = /[^\x00-\x7f]/;

export function isAscii(s: string): boolean {
  return !NON_ASCII.test(s);
}

export class RegexRunner {
  private readonly scratch = new Scratch();
  private caps = new Int32Array(64);
  /** Runs decided by RE2 because the engine could not or gave up (for tests and stats). */
  re2Runs = 0;
  /** Whether the engine (not RE2) decided the last exec. */
  lastFast = false;

  /**
   * Searches t in s[begin, end) plus, if `nl`, the newline fail2ban appends. `ascii` says the
   * subject has no non-ASCII character (the caller usually knows it for the whole line).
   * With `spans`, group offsets are returned too (subject-relative).
   */
  exec(t: TranslatedRegex, s: string, begin: number, end: number, nl: boolean, ascii: boolean, spans?: Record<string, [number, number]>): RegexMatch | null {
    const prog = t.program;
    if (prog && ascii && end - begin <= FAST_MAX_LENGTH) {
      if (this.caps.length < prog.slots) this.caps = new Int32Array(prog.slots * 2);
      const caps = this.caps;
      const r = run(prog, s, begin, end, nl, caps, this.scratch, budgetFor(end - begin));
      if (r !== RUN_ABORTED) {
        this.lastFast = true;
        if (r !== RUN_MATCH) return null;
        const textLen = end - begin;
        const groups: Record<string, string> = {};
        const gs = t.groups;
        for (let k = 0; k < gs.length; k++) {
          const a = caps[2 * k + 2] as number;
          const b = caps[2 * k + 3] as number;
          if (a < 0 || b < 0) continue;
          const name = (gs[k] as { name: string }).name;
          groups[name] = b <= textLen ? s.slice(begin + a, begin + b) : `${s.slice(begin + a, end)}\n`;
          if (spans) spans[name] = [a, b];
        }
        return { start: caps[0] as number, end: caps[1] as number, groups };
      }
    }
    this.re2Runs++;
    this.lastFast = false;
    const subject = nl ? `${s.slice(begin, end)}\n` : s.slice(begin, end);
    const m = t.re2.exec(subject);
    if (!m) return null;
    if (spans) {
      const idx = m.indices?.groups;
      for (const g of t.groups) {
        const sp = idx?.[g.re2];
        if (sp) spans[g.name] = [sp[0], sp[1]];
      }
    }
    return { start: m.index, end: m.index + (m[0] as string).length, groups: extractGroups(t, m) };
  }

  /** Highest subject offset the last engine run looked at (only meaningful when lastFast). */
  get lastMaxRead(): number {
    return this.scratch.maxRead;
  }
}

/** Generous for real lines (a few steps per character), small enough that a hostile line soon goes to RE2. */
function budgetFor(len: number): number {
  return 64 * (len + 1) + 4096;
}
