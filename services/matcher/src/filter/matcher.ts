import type { DateDetector } from '../dates/detector.js';
import { matchedLineSplit } from './line-buffer.js';
import type { SessionFail, SessionSnapshot } from './mlfid.js';
import { mergeFailure, MlfidCache } from './mlfid.js';
import { Prefilter } from './prefilter.js';
import { isAscii, RegexRunner } from './runner.js';
import type { TranslatedRegex } from './translate.js';

/**
 * One compiled filter applied line by line, in fail2ban's order (Filter.findFailure): the date is
 * found and cut out, `prefregex` must match and its <F-CONTENT> becomes the text, the first
 * matching failregex wins, and an ignoreregex match vetoes it. With `maxlines` > 1 the last lines
 * of a source are searched together; with <F-MLFID> lines of one session are merged (mlfid.ts).
 * That state is kept per source (MatchContext.source), so one filter serves many logs.
 *
 * Patterns run on the in-process engine for ASCII text and on RE2 otherwise (runner.ts); lines
 * no pattern can match are dropped after one literal scan (prefilter.ts).
 */
export type MatchResult =
  | { kind: 'failure'; id: string; time: number; user?: string; fields: Record<string, string> }
  | { kind: 'ignored' }
  | { kind: 'nomatch' }
  | { kind: 'error'; reason: string };

export interface MatchContext {
  now: number;
  /** Identifies the log (host and origin): date template, line buffer and sessions are per source. */
  source: string;
}

/**
 * Lines longer than this many UTF-16 code units are cut to it before matching (and counted in
 * `stats.truncated`): RE2 is linear, but a megabyte line still costs a millisecond per pattern, and
 * no log format puts its failure details beyond the first 16 KiB.
 */
export const MAX_LINE_LENGTH = 16 * 1024;

/** Sources whose state (line buffer, sessions) is kept; the least recently used is dropped. */
export const MAX_SOURCES = 4096;

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
  /** Shared with the date detector; a new one otherwise. */
  runner?: RegexRunner;
}

const NOMATCH: MatchResult = Object.freeze({ kind: 'nomatch' });
const IGNORED: MatchResult = Object.freeze({ kind: 'ignored' });
const WORD_CHAR = /[\p{L}\p{N}]/u;

/** Whether the line has a letter or digit outside ASCII (where ASCII \b and Unicode \b differ). */
function hasNonAsciiWord(line: string): boolean {
  for (let i = 0; i < line.length; i++) {
    if (line.charCodeAt(i) > 0x7f && WORD_CHAR.test(String.fromCodePoint(line.codePointAt(i) as number))) return true;
  }
  return false;
}

/** What a filter remembers about one source, as plain data (for another matcher instance). */
export interface SourceStateSnapshot {
  buffer: string[];
  sessions: SessionSnapshot[];
}

interface SourceState {
  /** Date-stripped lines not yet consumed by a match (maxlines > 1). */
  buffer: string[];
  sessions: MlfidCache;
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
  readonly runner: RegexRunner;
  private readonly earlyIgnore: boolean;
  private readonly asciiBoundary: boolean;
  private readonly prefilter: Prefilter | undefined;
  private readonly sources = new Map<string, SourceState>();
  /** Per failregex: every match is a nofail (or gained) line that ends its session. */
  private readonly forgetOnly: readonly boolean[];
  /** Sessions are keyed by a prefix of the line (prefregex \A(?P<mlfid>...)) and nothing can veto. */
  private readonly sessionShortcut: boolean;
  /** Prefilter.gate: false on a raw line no pattern can match (undefined: every line must be looked at). */
  private readonly gate: RegExp | undefined;
  /** Scratch: which failregexes the prefilter lets through for the current line. */
  private readonly candidates: Uint8Array;

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
    this.runner = parts.runner ?? new RegexRunner();
    // fail2ban checks ignoreregex on the whole line first only when there are few of them.
    this.earlyIgnore = this.ignoreregex.length > 0 && this.ignoreregex.length < this.failregex.length - 2;
    this.asciiBoundary = [...this.failregex, ...this.ignoreregex, ...(this.prefregex ? [this.prefregex] : [])].some((r) => r.asciiBoundary);
    this.prefilter = this.maxlines > 1 ? undefined : Prefilter.build(this.prefregex, this.failregex, this.ignoreregex, this.earlyIgnore, this.dates?.charsBefore ?? []);
    this.gate = this.prefilter?.gate;
    this.forgetOnly = this.failregex.map((r) => (r.always.has('nofail') || r.always.has('mlfgained')) && r.always.has('mlfforget'));
    this.sessionShortcut = this.prefregex?.leadingGroup === 'mlfid' && this.ignoreregex.length === 0;
    this.candidates = new Uint8Array(this.failregex.length).fill(1);
  }

  /** Sources with buffered lines or open sessions (for tests and memory checks). */
  get trackedSources(): number {
    return this.sources.size;
  }

  /** Whether matching a line can depend on earlier lines of its source (line buffer or sessions). */
  get stateful(): boolean {
    return this.maxlines > 1 || [this.prefregex, ...this.failregex].some((r) => r?.names.includes('mlfid'));
  }

  /** The source's state as plain data; undefined when there is none. */
  exportState(source: string, now: number): SourceStateSnapshot | undefined {
    const st = this.sources.get(source);
    if (!st) return undefined;
    const sessions = st.sessions.export(now);
    if (st.buffer.length === 0 && sessions.length === 0) return undefined;
    return { buffer: [...st.buffer], sessions };
  }

  /** Replaces the source's state (undefined: forget it), e.g. with what another instance left. */
  importState(source: string, snapshot: SourceStateSnapshot | undefined): void {
    this.sources.delete(source);
    if (!snapshot) return;
    this.state(source);
    this.sources.set(source, { buffer: [...snapshot.buffer].slice(-this.maxlines), sessions: MlfidCache.import(snapshot.sessions) });
  }

  /**
   * The lines of one batch of a source, in order: the same results as match() on each, without
   * per-line work for lines the prefilter rules out (most of a log).
   */
  matchBatch(lines: readonly string[], ctx: MatchContext): MatchResult[] {
    const out = new Array<MatchResult>(lines.length);
    for (let i = 0; i < lines.length; i++) out[i] = this.match(lines[i] as string, ctx);
    return out;
  }

  match(rawLine: string, ctx: MatchContext): MatchResult {
    this.stats.lines++;
    let line = rawLine;
    if (line.length > MAX_LINE_LENGTH) {
      line = line.slice(0, MAX_LINE_LENGTH);
      this.stats.truncated++;
    }
    line = stripEol(line);
    const dates = this.dates;
    const gate = this.gate;
    if (gate !== undefined && !gate.test(line)) {
      // No pattern can match, whatever the date cut leaves (Prefilter.gate). Only the date
      // detector may need the line: when it cannot show its state stays as it is, it runs.
      if (dates !== undefined && !dates.keeps(line, ctx.source)) dates.find(line, ctx.now, ctx.source);
      return NOMATCH;
    }
    let time = ctx.now;
    let text = line;
    if (dates && dates.find(line, ctx.now, ctx.source)) {
      text = dates.hitStart === 0 ? line.slice(dates.hitEnd) : line.slice(0, dates.hitStart) + line.slice(dates.hitEnd);
      if (dates.hitTime !== undefined) time = dates.hitTime;
    }
    if (this.maxlines > 1) return this.asciiBoundaryError(line) ?? this.matchBuffer(text, time, ctx);
    const pf = this.prefilter;
    if (pf) {
      const cand = this.candidates;
      const any = pf.candidates(text, cand) > 0;
      if (!any && !pf.ignoreCandidate) return NOMATCH;
      let allForget = true;
      for (let i = 0; i < cand.length; i++) if (cand[i] === 1 && !this.forgetOnly[i]) allForget = false;
      // Only session-ending nofail lines can match: without an open session whose id (a prefix of
      // the line) fits, fail2ban's merge leaves no trace and reports nothing.
      if (any && allForget && this.sessionShortcut) {
        const st = this.sources.get(ctx.source);
        if (!st || !st.sessions.hasPrefixOf(text)) return NOMATCH;
      }
    }
    return this.asciiBoundaryError(line) ?? this.matchLines([text], text, isAscii(text), time, ctx, undefined);
  }

  /**
   * A pattern of this filter has a \b the translation judges for ASCII only, and the line has
   * non-ASCII letters: refuse rather than guess. Asked only of lines a pattern may match (a line
   * the literals rule out is no match however \b is read).
   */
  private asciiBoundaryError(line: string): MatchResult | undefined {
    if (this.asciiBoundary && !isAscii(line) && hasNonAsciiWord(line)) {
      return { kind: 'error', reason: 'a pattern of this filter uses \\b next to text the translation can only judge for ASCII, and the line has non-ASCII letters' };
    }
    return undefined;
  }

  /** fail2ban's line buffer: the last `maxlines` lines not yet part of a match, searched together. */
  private matchBuffer(text: string, time: number, ctx: MatchContext): MatchResult {
    const st = this.state(ctx.source);
    st.buffer.push(text);
    if (st.buffer.length > this.maxlines) st.buffer.splice(0, st.buffer.length - this.maxlines);
    const org = st.buffer.slice();
    const buf = org.join('\n');
    return this.matchLines(org, buf, isAscii(buf), time, ctx, st);
  }

  /**
   * Filter.findFailure on `buf` (the lines of `org` joined; a newline is appended as fail2ban
   * does). `st` is given in multi-line mode, whose buffer this updates.
   */
  private matchLines(org: readonly string[], buf: string, ascii: boolean, time: number, ctx: MatchContext, st: SourceState | undefined): MatchResult {
    const runner = this.runner;
    if (this.earlyIgnore && this.anyIgnore(buf, ascii)) return IGNORED;
    let pre: Record<string, string> | undefined;
    let subject = buf;
    if (this.prefregex) {
      const m = runner.exec(this.prefregex, buf, 0, buf.length, true, ascii);
      if (!m) return NOMATCH;
      pre = m.groups;
      const content = pre['content'];
      if (content) {
        subject = content;
        if (st) st.buffer = [content];
      }
    }
    const cand = st ? undefined : this.candidates;
    for (let i = 0; i < this.failregex.length; i++) {
      if (cand && cand[i] === 0) continue;
      const fr = this.failregex[i] as TranslatedRegex;
      const m = runner.exec(fr, subject, 0, subject.length, true, ascii);
      if (!m) continue;
      let unmatched: string[] | undefined;
      let matchedText = subject;
      if (st) {
        const split = matchedLineSplit(org, `${subject}\n`, m.start, m.end, skippedLines(fr, m.groups));
        unmatched = split.unmatched;
        matchedText = split.matched.join('\n');
      }
      if (this.ignoreregex.length > 0 && this.anyIgnore(matchedText, ascii)) {
        if (st && unmatched) st.buffer = unmatched;
        return IGNORED;
      }
      if (st && unmatched) st.buffer = unmatched;
      let fields: Record<string, string | undefined> = m.groups;
      if (pre) {
        fields = {};
        for (const k in pre) if (k !== 'content') fields[k] = pre[k];
        const g = m.groups;
        for (const k in g) fields[k] = g[k];
      }
      mergeAlternates(fields);
      return this.toResult(fr, fields, time, ctx);
    }
    return NOMATCH;
  }

  private toResult(fr: TranslatedRegex, groups: Record<string, string | undefined>, time: number, ctx: MatchContext): MatchResult {
    let fields = groups;
    const mlfid = fields['mlfid'];
    let session: SessionFail | undefined;
    if (mlfid !== undefined) {
      session = mergeFailure(this.state(ctx.source).sessions, mlfid, fields, ctx.now);
      fields = session.fields;
      if (fields['nofail']) return NOMATCH;
    } else if (fields['nofail'] || fields['mlfgained']) {
      // F-NOFAIL / F-MLFGAINED mark lines that identify a client but are no failure.
      return NOMATCH;
    }
    const id = fields['ip4'] ?? fields['ip6'] ?? fields['dns'] ?? fields['fid'];
    if (id === undefined) {
      // A session's failure before its address is known: it makes the session's next line count.
      if (session) {
        session.pending = true;
        return NOMATCH;
      }
      return { kind: 'error', reason: `failregex ${JSON.stringify(fr.original)} matched but has no host or failure-id group` };
    }
    this.stats.failures++;
    const out: Record<string, string> = {};
    for (const k in fields) {
      const v = fields[k];
      if (v !== undefined) out[k] = v;
    }
    const user = out['user'];
    return user === undefined ? { kind: 'failure', id, time, fields: out } : { kind: 'failure', id, time, user, fields: out };
  }

  private anyIgnore(text: string, ascii: boolean): boolean {
    for (const r of this.ignoreregex) if (this.runner.exec(r, text, 0, text.length, true, ascii)) return true;
    return false;
  }

  private state(source: string): SourceState {
    let st = this.sources.get(source);
    if (st) {
      // Most recently used last, so the first key is the one to drop.
      this.sources.delete(source);
      this.sources.set(source, st);
      return st;
    }
    if (this.sources.size >= MAX_SOURCES) {
      const oldest = this.sources.keys().next().value;
      if (oldest !== undefined) this.sources.delete(oldest);
    }
    st = { buffer: [], sessions: new MlfidCache() };
    this.sources.set(source, st);
    return st;
  }
}

function stripEol(s: string): string {
  let end = s.length;
  while (end > 0 && (s.charCodeAt(end - 1) === 10 || s.charCodeAt(end - 1) === 13)) end--;
  return end === s.length ? s : s.slice(0, end);
}

/** <SKIPLINES> groups skiplines0, skiplines1, ... in order, as fail2ban's getSkippedLines. */
function skippedLines(fr: TranslatedRegex, groups: Record<string, string>): string[] {
  let text = '';
  for (let n = 0; n < fr.skipLines; n++) text += groups[`skiplines${n}`] ?? '';
  if (text === '') return [];
  // eslint-disable-next-line no-control-regex -- Python's str.splitlines boundaries include \x1c-\x1e
  const lines = text.split(/\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]/);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** fail2ban's alt_ groups: `alt_user` (or `alt_user_2`) fills `user` when that is empty. */
function mergeAlternates(fields: Record<string, string | undefined>): void {
  let any = false;
  for (const k in fields) {
    if (k.startsWith('alt_')) {
      any = true;
      break;
    }
  }
  if (!any) return;
  for (const k of Object.keys(fields).sort()) {
    const m = /^alt_(.*?)(?:_\d+)?$/.exec(k);
    if (!m) continue;
    const target = m[1] === 'id' ? 'fid' : m[1] === 'port' ? 'fport' : (m[1] as string);
    const v = fields[k];
    if (v && !fields[target]) fields[target] = v;
  }
}
