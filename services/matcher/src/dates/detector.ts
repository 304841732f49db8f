import type { Ranges } from '../filter/regex/charset.js';
import { union } from '../filter/regex/charset.js';
import { isAscii, RegexRunner } from '../filter/runner.js';
import { fieldsToEpochMs } from './strptime.js';
import type { DateTemplate } from './templates.js';

/**
 * Finds the date in a line. The template that matched last for a source is tried first, so a
 * steady log pays for one template per line; only a miss searches the whole list (in fail2ban's
 * order, line-start anchored templates first; the first match wins).
 *
 * A template's answer depends only on the characters its run looked at, so it is remembered keyed
 * by that prefix of the line: lines of the same second share "Mar  1 10:00:00 h" and skip the
 * regex and the date arithmetic altogether.
 */
export interface DateHit {
  /** UTF-16 offsets of the date text in the line (cut out before failregex runs). */
  start: number;
  end: number;
  /** Epoch ms; undefined when the text matched a template but is not a valid date. */
  time: number | undefined;
}

export interface DetectorOptions {
  /** logtimezone as minutes east of UTC; undefined: local time (TZ). */
  defaultOffset?: number;
  /** How many sources to remember a template for (the oldest is forgotten first). */
  maxSources?: number;
  /** Shared with the filter that owns the detector (saves buffers); a private one otherwise. */
  runner?: RegexRunner;
}

/** Remembered answer of one template for one line prefix. */
interface PrefixEntry {
  /** null: the template does not match lines with this prefix. */
  hit: { start: number; end: number; fields: Record<string, string> } | null;
  /** The "now" `time` was read for (NaN: not read yet). */
  now: number;
  time: number | undefined;
  /** Length of the prefix the answer depends on. */
  length: number;
}

const PREFIX_CACHE_MAX = 2048;
/**
 * Distinct prefix lengths kept per template: a lookup costs one slice and one map probe per
 * length. Line-start dates have a few; a template that finds dates anywhere (after an address of
 * any length) would collect dozens that rarely repeat, so further lengths are not stored.
 */
const PREFIX_LENGTHS_MAX = 8;

class PrefixCache {
  /** Parallel arrays: prefix length -> (prefix -> entry). A handful of lengths per template in practice. */
  private readonly lengths: number[] = [];
  private readonly maps: Array<Map<string, PrefixEntry>> = [];
  private size = 0;

  lookup(line: string): PrefixEntry | undefined {
    const lengths = this.lengths;
    for (let i = 0; i < lengths.length; i++) {
      const len = lengths[i] as number;
      if (line.length < len) continue;
      const e = (this.maps[i] as Map<string, PrefixEntry>).get(line.length === len ? line : line.slice(0, len));
      if (e) return e;
    }
    return undefined;
  }

  store(prefix: string, e: PrefixEntry): void {
    if (this.size >= PREFIX_CACHE_MAX) {
      this.lengths.length = 0;
      this.maps.length = 0;
      this.size = 0;
    }
    let i = this.lengths.indexOf(prefix.length);
    if (i < 0) {
      if (this.lengths.length >= PREFIX_LENGTHS_MAX) return;
      i = this.lengths.length;
      this.lengths.push(prefix.length);
      this.maps.push(new Map());
    }
    (this.maps[i] as Map<string, PrefixEntry>).set(prefix, e);
    this.size++;
  }
}

/** Per source: the template tried first, and the last line prefix it answered (with the answer). */
interface SourceDates {
  template: number;
  /** `template` finds a date in lines starting with this (keeps()). */
  prefix: string | undefined;
  /** The answer for lines starting with `prefix` (undefined: not read yet, see keeps()). */
  entry: PrefixEntry | undefined;
}

export class DateDetector {
  private readonly sources = new Map<string, SourceDates>();
  private readonly maxSources: number;
  private readonly runner: RegexRunner;
  private readonly prefixes: PrefixCache[];
  /** Set by tryTemplate on a hit: the prefix the answer is valid for (undefined: not cacheable). */
  private lastPrefix: string | undefined = undefined;
  private lastEntry: PrefixEntry | undefined = undefined;

  constructor(
    readonly templates: readonly DateTemplate[],
    private readonly opts: DetectorOptions = {},
  ) {
    this.maxSources = opts.maxSources ?? 4096;
    this.runner = opts.runner ?? new RegexRunner();
    this.prefixes = templates.map(() => new PrefixCache());
    this.charsBefore = union(...templates.map((t) => t.charsBefore));
  }

  /** The characters a line can have right before a date text any template finds. */
  readonly charsBefore: Ranges;

  /** Set by find(): the date's offsets in the line and its time. */
  hitStart = 0;
  hitEnd = 0;
  hitTime: number | undefined = undefined;

  detect(line: string, now: number, source: string): DateHit | undefined {
    return this.find(line, now, source) ? { start: this.hitStart, end: this.hitEnd, time: this.hitTime } : undefined;
  }

  /**
   * Whether find(line) is known, without running any template, to leave the source's state (the
   * template tried first) as it is: there is one template, or the line starts with the prefix the
   * source's template last answered "date here" for. Lines nothing else needs can then skip find().
   */
  keeps(line: string, source: string): boolean {
    if (this.templates.length <= 1) return true;
    const st = this.stateOf(source);
    if (st === undefined) return false;
    const p = st.prefix;
    if (p !== undefined && line.startsWith(p)) return true;
    // The source's template alone (lines of a new second, mostly); the time is read when needed.
    if (!this.tryTemplate(st.template, line)) return false;
    st.prefix = this.lastPrefix;
    st.entry = this.lastEntry;
    return true;
  }

  /** detect() without allocating: true when found, the hit is in hitStart/hitEnd/hitTime. */
  find(line: string, now: number, source: string): boolean {
    const st = this.stateOf(source);
    let cached = -1;
    if (st !== undefined) {
      cached = st.template;
      const p = st.prefix;
      const e = st.entry;
      if (e !== undefined && p !== undefined && line.startsWith(p)) {
        this.useEntry(cached, e, line, now);
        return true;
      }
      if (this.tryTemplate(cached, line)) {
        st.prefix = this.lastPrefix;
        st.entry = this.lastEntry;
        this.useEntry(cached, this.lastEntry as PrefixEntry, line, now);
        return true;
      }
    }
    for (let i = 0; i < this.templates.length; i++) {
      if (i === cached) continue;
      if (this.tryTemplate(i, line)) {
        this.remember(source, { template: i, prefix: this.lastPrefix, entry: this.lastEntry });
        this.useEntry(i, this.lastEntry as PrefixEntry, line, now);
        return true;
      }
    }
    return false;
  }

  /** The last source asked about, and its state: a batch asks about one source line after line. */
  private lastSource: string | undefined = undefined;
  private lastState: SourceDates | undefined = undefined;

  private stateOf(source: string): SourceDates | undefined {
    if (source === this.lastSource) return this.lastState;
    const st = this.sources.get(source);
    this.lastSource = source;
    this.lastState = st;
    return st;
  }

  private remember(source: string, st: SourceDates): void {
    this.lastSource = undefined;
    this.sources.delete(source);
    if (this.sources.size >= this.maxSources) {
      const oldest = this.sources.keys().next().value;
      if (oldest !== undefined) this.sources.delete(oldest);
    }
    this.sources.set(source, st);
  }

  private useEntry(i: number, e: PrefixEntry, line: string, now: number): void {
    const hit = e.hit as NonNullable<PrefixEntry['hit']>;
    if (e.now !== now) {
      e.time = this.toTime(this.templates[i] as DateTemplate, line.slice(hit.start, hit.end), hit.fields, now);
      e.now = now;
    }
    this.hitStart = hit.start;
    this.hitEnd = hit.end;
    this.hitTime = e.time;
  }

  /**
   * Whether template i finds a date in the line; on a hit, lastEntry is the answer (its time not
   * read yet: useEntry does that) and lastPrefix the line prefix it holds for (undefined: the
   * run looked at the whole line).
   */
  private tryTemplate(i: number, line: string): boolean {
    const t = this.templates[i] as DateTemplate;
    const cache = this.prefixes[i] as PrefixCache;
    const known = cache.lookup(line);
    if (known) {
      if (!known.hit) return false;
      this.lastPrefix = line.length === known.length ? line : line.slice(0, known.length);
      this.lastEntry = known;
      return true;
    }
    const spans: Record<string, [number, number]> = {};
    const m = this.runner.exec(t.regex, line, 0, line.length, false, isAscii(line), spans);
    // The engine reports how far it looked; past the end of the line the answer is not a prefix's.
    const maxRead = this.runner.lastFast ? this.runner.lastMaxRead : line.length;
    const cacheable = maxRead < line.length;
    const span = m ? spans['1'] : undefined;
    if (!m || !span) {
      if (cacheable) cache.store(line.slice(0, maxRead + 1), { hit: null, now: Number.NaN, time: undefined, length: maxRead + 1 });
      return false;
    }
    const entry: PrefixEntry = { hit: { start: span[0], end: span[1], fields: m.groups }, now: Number.NaN, time: undefined, length: maxRead + 1 };
    if (cacheable) {
      this.lastPrefix = line.slice(0, maxRead + 1);
      cache.store(this.lastPrefix, entry);
    } else this.lastPrefix = undefined;
    this.lastEntry = entry;
    return true;
  }

  private toTime(t: DateTemplate, text: string, fields: Record<string, string>, now: number): number | undefined {
    switch (t.kind) {
      case 'none':
        return now;
      case 'epoch':
        return Math.round(Number(text) * 1000);
      case 'lepoch': {
        let v = Number(text);
        if (text.length >= 13) v = text.length >= 16 && !text.includes('.') ? v / 1e6 : v / 1000;
        return Math.round(v * 1000);
      }
      case 'tai64n':
        return parseInt(text.slice(2, 17), 16) * 1000;
      case 'pattern':
        return fieldsToEpochMs(fields, { now, ...(this.opts.defaultOffset === undefined ? {} : { defaultOffset: this.opts.defaultOffset }) });
    }
  }
}
