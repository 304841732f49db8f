import {
  DEFAULT_SECTION,
  parseBool,
  parseDuration,
  PortcullisError,
  resolveOption,
  splitWords,
  type IniSections,
  type SourceRef,
} from '@portcullis/shared';
import { EVENT_TYPES, type EventType } from '../content/events.js';

/** The section of portcullis.conf / portcullis.local that holds the notifier's settings. */
export const NOTIFIER_SECTION = 'notifier';

/**
 * Typed access to the options of [notifier], each interpolated as fail2ban would and each error
 * pointing at the file and line that set the value (or at the section when the value is missing).
 */
export class OptionReader {
  constructor(
    private readonly sections: IniSections,
    readonly section: string = NOTIFIER_SECTION,
  ) {}

  /** Keys set in the section itself (not inherited from [DEFAULT]), in file order. */
  ownKeys(): string[] {
    return [...(this.sections.get(this.section)?.keys() ?? [])];
  }

  ref(key: string): SourceRef | undefined {
    return this.sections.get(this.section)?.get(key)?.ref ?? this.sections.get(DEFAULT_SECTION)?.get(key)?.ref;
  }

  get sectionRef(): SourceRef | undefined {
    return this.sections.get(this.section)?.ref;
  }

  error(key: string | undefined, message: string, cause?: unknown): PortcullisError {
    const ref = (key !== undefined ? this.ref(key) : undefined) ?? this.sectionRef;
    return new PortcullisError('PC_CONFIG_INVALID', `[${this.section}] ${message}`, {
      ...(ref ? { location: ref } : {}),
      ...(cause !== undefined ? { cause } : {}),
    });
  }

  /** The interpolated, trimmed value; undefined when unset or empty. */
  raw(key: string): string | undefined {
    const v = resolveOption(this.sections, this.section, key)?.trim();
    return v === undefined || v === '' ? undefined : v;
  }

  text(key: string, fallback: string): string {
    return this.raw(key) ?? fallback;
  }

  /** A list separated by commas, spaces or new lines; undefined when unset. */
  list(key: string): string[] | undefined {
    const v = this.raw(key);
    return v === undefined ? undefined : splitWords(v);
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.raw(key);
    return v === undefined ? fallback : parseBool(key, v, this.ref(key));
  }

  /** A fail2ban time value (600, 10m, 1h 30m) in milliseconds, within [min, max] seconds. */
  durationMs(key: string, fallback: string, bounds: { min: number; max: number }): number {
    const text = this.text(key, fallback);
    const seconds = parseDuration(text, this.ref(key), key);
    if (seconds < bounds.min || seconds > bounds.max) {
      throw this.error(key, `${key} ${JSON.stringify(text)} must be between ${bounds.min} and ${bounds.max} seconds`);
    }
    return Math.round(seconds * 1000);
  }

  int(key: string, fallback: number, bounds: { min: number; max: number }): number {
    const text = this.raw(key);
    if (text === undefined) return fallback;
    const n = /^\d+$/.test(text) ? Number(text) : NaN;
    if (!Number.isSafeInteger(n) || n < bounds.min || n > bounds.max) {
      throw this.error(key, `${key} must be an integer from ${bounds.min} to ${bounds.max}, got ${JSON.stringify(text)}`);
    }
    return n;
  }

  /** A subset of ban, unban, flood, digest. */
  events(key: string, fallback: readonly EventType[]): EventType[] {
    const words = this.list(key);
    if (words === undefined) return [...fallback];
    const out: EventType[] = [];
    for (const w of words) {
      const t = w.toLowerCase();
      if (!(EVENT_TYPES as readonly string[]).includes(t)) {
        throw this.error(key, `${key}: unknown event type ${JSON.stringify(w)}; use ${EVENT_TYPES.join(', ')}`);
      }
      if (!out.includes(t as EventType)) out.push(t as EventType);
    }
    return out;
  }
}
