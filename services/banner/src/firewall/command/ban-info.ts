import type { BanContext } from '../backend.js';

/** The ban-time tags fail2ban's ActionInfo provides that Portcullis fills in. */
export const BAN_TAGS: ReadonlySet<string> = new Set([
  'ip',
  'family',
  'ip-rev',
  'ip-host',
  'fid',
  'failures',
  'time',
  'bantime',
  'bancount',
  'matches',
  'ipmatches',
  'ipjailmatches',
  'ipfailures',
  'ipjailfailures',
  'restored',
]);

/** fail2ban's FCUSTAG_CRE: `<F-NAME>` reads a value the filter captured (upper case only). */
const FIELD_TAG = /^F-([A-Z0-9_-]+)$/;
/** fail2ban's mapTag2Opt: these capture names are stored under other keys. */
const FIELD_ALIASES: Readonly<Record<string, string>> = { id: 'fid', port: 'fport' };
/** Linux refuses a single environment string over 128 KiB (MAX_ARG_STRLEN); long log excerpts are cut. */
export const MAX_VALUE_LENGTH = 100_000;

export function isBanTag(tag: string): boolean {
  return BAN_TAGS.has(tag) || FIELD_TAG.test(tag);
}

export type Family = 'inet4' | 'inet6';

/** One ban as the commands see it (fail2ban's ticket); `ip` is already validated and canonical. */
export interface Ticket {
  ip: string;
  family: Family | '';
  /** Epoch seconds. */
  time: number;
  /** Seconds, -1 = permanent. */
  bantime: number;
  restored: boolean;
  context: BanContext;
  /** Reverse DNS name, looked up only when a command uses `<ip-host>`. */
  host?: string;
}

/** The value of a ban-time tag for a ticket, or undefined when the tag is not one. */
export function tagValue(tag: string, t: Ticket): string | undefined {
  const ctx = t.context;
  const matches = (ctx.matches ?? []).join('\n');
  switch (tag) {
    case 'ip':
    case 'fid':
      return t.ip;
    case 'family':
      return t.family;
    case 'ip-rev':
      return t.ip === '' ? '' : reversePointer(t.ip);
    case 'ip-host':
      return t.host ?? '';
    case 'failures':
    case 'ipfailures':
    case 'ipjailfailures':
      return String(ctx.failures ?? 0);
    case 'time':
      return String(t.time);
    case 'bantime':
      return String(t.bantime);
    case 'bancount':
      return String(ctx.banCount ?? 0);
    case 'matches':
    case 'ipmatches':
    case 'ipjailmatches':
      return matches;
    case 'restored':
      return t.restored ? '1' : '0';
  }
  const field = FIELD_TAG.exec(tag);
  if (!field) return undefined;
  const key = field[1]!.toLowerCase();
  // fail2ban substitutes an empty string for a capture the filter did not produce.
  return ctx.fields?.[FIELD_ALIASES[key] ?? key] ?? '';
}

/** fail2ban's IPAddr.getPTR(''): reversed octets (or nibbles) and a trailing dot. */
export function reversePointer(ip: string): string {
  if (!ip.includes(':')) return `${ip.split('.').reverse().join('.')}.`;
  return `${expandIpv6(ip).split('').reverse().join('.')}.`;
}

function expandIpv6(ip: string): string {
  const [head, tail] = ip.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.map((g) => g.padStart(4, '0')).join('');
}

/**
 * Environment variable names for the tags a script uses: `PC_` and the tag in upper case with
 * other characters as `_` (`<F-USER>` -> PC_F_USER), numbered when two tags would share one.
 */
export function variableNames(tags: Iterable<string>): Map<string, string> {
  const out = new Map<string, string>();
  const used = new Set<string>();
  for (const tag of tags) {
    if (out.has(tag)) continue;
    const base = `PC_${tag.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
    let name = base;
    for (let n = 2; used.has(name); n++) name = `${base}_${n}`;
    used.add(name);
    out.set(tag, name);
  }
  return out;
}

/** A value as it can travel in the environment: no NUL bytes, bounded length. */
export function envValue(value: string): string {
  const clean = value.includes('\0') ? value.replaceAll('\0', '') : value;
  return clean.length > MAX_VALUE_LENGTH ? clean.slice(0, MAX_VALUE_LENGTH) : clean;
}
