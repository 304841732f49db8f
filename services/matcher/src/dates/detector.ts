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
  now: number;
  time: number | undefined;
}

const PREFIX_CACHE_MAX = 2048;

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
      i = this.lengths.length;
      this.lengths.push(prefix.length);
      this.maps.push(new Map());
    }
    (this.maps[i] as Map<string, PrefixEntry>).set(prefix, e);
    this.size++;
  }
}

export class DateDetector {
  private readonly lastTemplate = new Map<string, number>();
  private readonly maxSources: number;
  private readonly runner: RegexRunner;
  private readonly prefixes: PrefixCache[];

  constructor(
    readonly templates: readonly DateTemplate[],
    private readonly opts: DetectorOptions = {},
  ) {
    this.maxSources = opts.maxSources ?? 4096;
    this.runner = opts.runner ?? new RegexRunner();
    this.prefixes = templates.map(() => new PrefixCache());
  }

  /** Set by find(): the date's offsets in the line and its time. */
  hitStart = 0;
  hitEnd = 0;
  hitTime: number | undefined = undefined;

  detect(line: string, now: number, source: string): DateHit | undefined {
    return this.find(line, now, source) ? { start: this.hitStart, end: this.hitEnd, time: this.hitTime } : undefined;
  }

  /** detect() without allocating: true when found, the hit is in hitStart/hitEnd/hitTime. */
  find(line: string, now: number, source: string): boolean {
    const cached = this.lastTemplate.get(source);
    if (cached !== undefined && this.tryTemplate(cached, line, now)) return true;
    for (let i = 0; i < this.templates.length; i++) {
      if (i === cached) continue;
      if (this.tryTemplate(i, line, now)) {
        this.remember(source, i);
        return true;
      }
    }
    return false;
  }

  private remember(source: string, i: number): void {
    this.lastTemplate.delete(source);
    if (this.lastTemplate.size >= this.maxSources) {
      const oldest = this.lastTemplate.keys().next().value;
      if (oldest !== undefined) this.lastTemplate.delete(oldest);
    }
    this.lastTemplate.set(source, i);
  }

  private tryTemplate(i: number, line: string, now: number): boolean {
    const t = this.templates[i] as DateTemplate;
    const cache = this.prefixes[i] as PrefixCache;
    const known = cache.lookup(line);
    if (known) {
      if (!known.hit) return false;
      if (known.now !== now) {
        known.time = this.toTime(t, line.slice(known.hit.start, known.hit.end), known.hit.fields, now);
        known.now = now;
      }
      this.hitStart = known.hit.start;
      this.hitEnd = known.hit.end;
      this.hitTime = known.time;
      return true;
    }
    const spans: Record<string, [number, number]> = {};
    const m = this.runner.exec(t.regex, line, 0, line.length, false, isAscii(line), spans);
    // The engine reports how far it looked; past the end of the line the answer is not a prefix's.
    const maxRead = this.runner.lastFast ? this.runner.lastMaxRead : line.length;
    const cacheable = maxRead < line.length;
    const span = m ? spans['1'] : undefined;
    if (!m || !span) {
      if (cacheable) cache.store(line.slice(0, maxRead + 1), { hit: null, now, time: undefined });
      return false;
    }
    const text = line.slice(span[0], span[1]);
    const time = this.toTime(t, text, m.groups, now);
    if (cacheable) cache.store(line.slice(0, maxRead + 1), { hit: { start: span[0], end: span[1], fields: m.groups }, now, time });
    this.hitStart = span[0];
    this.hitEnd = span[1];
    this.hitTime = time;
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
