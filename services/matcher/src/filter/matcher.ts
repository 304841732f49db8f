import type { DateDetector } from '../dates/detector.js';
import type { TranslatedRegex } from './translate.js';
import { extractGroups } from './translate.js';

/**
 * One compiled filter applied to one line, in fail2ban's order: the date is found and cut out,
 * `prefregex` must match and its <F-CONTENT> becomes the text, the first matching failregex wins,
 * and an ignoreregex match vetoes it. Everything runs on RE2 (linear time in the line length).
 */
export type MatchResult =
  | { kind: 'failure'; id: string; time: number; user?: string; fields: Record<string, string> }
  | { kind: 'ignored' }
  | { kind: 'nomatch' }
  | { kind: 'error'; reason: string };

export interface MatchContext {
  now: number;
  source: string;
}

/**
 * Lines longer than this many UTF-16 code units are cut to it before matching (and counted in
 * `stats.truncated`): RE2 is linear, but a megabyte line still costs a millisecond per pattern, and
 * no log format puts its failure details beyond the first 16 KiB.
 */
export const MAX_LINE_LENGTH = 16 * 1024;

export interface FilterStats {
  lines: number;
  truncated: number;
  failures: number;
}

export interface CompiledFilterParts {
  name: string;
  failregex: readonly TranslatedRegex[];
  ignoreregex: readonly TranslatedRegex[];
  prefregex: TranslatedRegex | undefined;
  dates: DateDetector | undefined;
  maxlines: number;
  journalmatch: readonly string[];
  datepattern: string | undefined;
  logtimezone: string | undefined;
  /** Files the definition was read from, in order. */
  files: readonly string[];
}

const WORD_CHAR = /[\p{L}\p{N}]/u;

/** Whether the line has a letter or digit outside ASCII (where ASCII \b and Unicode \b differ). */
function hasNonAsciiWord(line: string): boolean {
  for (let i = 0; i < line.length; i++) {
    if (line.charCodeAt(i) > 0x7f && WORD_CHAR.test(String.fromCodePoint(line.codePointAt(i) as number))) return true;
  }
  return false;
}

export class CompiledFilter implements CompiledFilterParts {
  readonly name: string;
  readonly failregex: readonly TranslatedRegex[];
  readonly ignoreregex: readonly TranslatedRegex[];
  readonly prefregex: TranslatedRegex | undefined;
  readonly dates: DateDetector | undefined;
  readonly maxlines: number;
  readonly journalmatch: readonly string[];
  readonly datepattern: string | undefined;
  readonly logtimezone: string | undefined;
  readonly files: readonly string[];
  readonly stats: FilterStats = { lines: 0, truncated: 0, failures: 0 };
  private readonly earlyIgnore: boolean;
  private readonly asciiBoundary: boolean;

  constructor(parts: CompiledFilterParts) {
    this.name = parts.name;
    this.failregex = parts.failregex;
    this.ignoreregex = parts.ignoreregex;
    this.prefregex = parts.prefregex;
    this.dates = parts.dates;
    this.maxlines = parts.maxlines;
    this.journalmatch = parts.journalmatch;
    this.datepattern = parts.datepattern;
    this.logtimezone = parts.logtimezone;
    this.files = parts.files;
    // fail2ban checks ignoreregex on the whole line first only when there are few of them.
    this.earlyIgnore = this.ignoreregex.length > 0 && this.ignoreregex.length < this.failregex.length - 2;
    this.asciiBoundary = [...this.failregex, ...this.ignoreregex, ...(this.prefregex ? [this.prefregex] : [])].some((r) => r.asciiBoundary);
  }

  match(rawLine: string, ctx: MatchContext): MatchResult {
    this.stats.lines++;
    let line = rawLine;
    if (line.length > MAX_LINE_LENGTH) {
      line = line.slice(0, MAX_LINE_LENGTH);
      this.stats.truncated++;
    }
    line = stripEol(line);
    if (this.asciiBoundary && hasNonAsciiWord(line)) {
      return { kind: 'error', reason: 'a pattern of this filter uses \\b next to text the translation can only judge for ASCII, and the line has non-ASCII letters' };
    }
    let time = ctx.now;
    let text = line;
    if (this.dates) {
      const hit = this.dates.detect(line, ctx.now, ctx.source);
      if (hit) {
        text = line.slice(0, hit.start) + line.slice(hit.end);
        if (hit.time !== undefined) time = hit.time;
      }
    }
    const whole = `${text}\n`;
    if (this.earlyIgnore && this.anyMatch(this.ignoreregex, whole)) return { kind: 'ignored' };
    let buf = whole;
    let pre: Record<string, string> = {};
    if (this.prefregex) {
      const m = this.prefregex.re2.exec(whole);
      if (!m) return { kind: 'nomatch' };
      pre = extractGroups(this.prefregex, m);
      const content = pre['content'];
      delete pre['content'];
      if (content) buf = `${content}\n`;
    }
    for (const fr of this.failregex) {
      const m = fr.re2.exec(buf);
      if (!m) continue;
      if (!this.earlyIgnore && this.anyMatch(this.ignoreregex, buf)) return { kind: 'ignored' };
      const fields = { ...pre, ...extractGroups(fr, m) };
      mergeAlternates(fields);
      // F-NOFAIL / F-MLFGAINED mark lines that identify a client but are no failure.
      if (fields['nofail'] || fields['mlfgained']) return { kind: 'nomatch' };
      const id = fields['ip4'] ?? fields['ip6'] ?? fields['dns'] ?? fields['fid'];
      if (id === undefined) return { kind: 'error', reason: `failregex ${JSON.stringify(fr.original)} matched but has no host or failure-id group` };
      this.stats.failures++;
      const user = fields['user'];
      return user === undefined ? { kind: 'failure', id, time, fields } : { kind: 'failure', id, time, user, fields };
    }
    return { kind: 'nomatch' };
  }

  private anyMatch(list: readonly TranslatedRegex[], text: string): boolean {
    for (const r of list) if (r.re2.test(text)) return true;
    return false;
  }
}

function stripEol(s: string): string {
  let end = s.length;
  while (end > 0 && (s.charCodeAt(end - 1) === 10 || s.charCodeAt(end - 1) === 13)) end--;
  return end === s.length ? s : s.slice(0, end);
}

/** fail2ban's alt_ groups: `alt_user` (or `alt_user_2`) fills `user` when that is empty. */
function mergeAlternates(fields: Record<string, string>): void {
  for (const k of Object.keys(fields).sort()) {
    const m = /^alt_(.*?)(?:_\d+)?$/.exec(k);
    if (!m) continue;
    const target = m[1] === 'id' ? 'fid' : m[1] === 'port' ? 'fport' : (m[1] as string);
    const v = fields[k];
    if (v && !fields[target]) fields[target] = v;
  }
}
