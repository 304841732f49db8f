import { extractGroups } from '../filter/translate.js';
import { fieldsToEpochMs } from './strptime.js';
import type { DateTemplate } from './templates.js';

/**
 * Finds the date in a line. The template that matched last for a source is tried first, so a
 * steady log pays for one template per line; only a miss searches the whole list (in fail2ban's
 * order, line-start anchored templates first; the first match wins).
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
}

export class DateDetector {
  private readonly lastTemplate = new Map<string, number>();
  private readonly maxSources: number;

  constructor(
    readonly templates: readonly DateTemplate[],
    private readonly opts: DetectorOptions = {},
  ) {
    this.maxSources = opts.maxSources ?? 4096;
  }

  detect(line: string, now: number, source: string): DateHit | undefined {
    const cached = this.lastTemplate.get(source);
    if (cached !== undefined) {
      const hit = this.tryTemplate(cached, line, now);
      if (hit) return hit;
    }
    for (let i = 0; i < this.templates.length; i++) {
      if (i === cached) continue;
      const hit = this.tryTemplate(i, line, now);
      if (hit) {
        this.remember(source, i);
        return hit;
      }
    }
    return undefined;
  }

  private remember(source: string, i: number): void {
    this.lastTemplate.delete(source);
    if (this.lastTemplate.size >= this.maxSources) {
      const oldest = this.lastTemplate.keys().next().value;
      if (oldest !== undefined) this.lastTemplate.delete(oldest);
    }
    this.lastTemplate.set(source, i);
  }

  private tryTemplate(i: number, line: string, now: number): DateHit | undefined {
    const t = this.templates[i] as DateTemplate;
    const m = t.regex.re2.exec(line);
    if (!m) return undefined;
    let span: [number, number] | undefined;
    const idx = m.indices?.groups;
    for (const g of t.regex.groups) {
      if (g.name !== '1') continue;
      const s = idx?.[g.re2];
      if (s) span = [s[0], s[1]];
    }
    if (!span) return undefined;
    const text = line.slice(span[0], span[1]);
    return { start: span[0], end: span[1], time: this.toTime(t, text, extractGroups(t.regex, m), now) };
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
