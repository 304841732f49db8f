import { formatClassicLine, formatRfc3339Micros } from '../syslog/classic-line.js';
import { decodeUtf8 } from '../syslog/utf8.js';

/** One entry of `journalctl -o json`: field values are strings, byte arrays, null, or arrays of those. */
export type JournalEntry = Record<string, unknown>;

/**
 * A field's text. journalctl writes a value that is not printable UTF-8 as an array of byte values,
 * a field present several times as an array of values (joined with a space, as fail2ban does for
 * MESSAGE), and a value over 4096 bytes as null unless `--all` is given (we always give it).
 */
export function fieldText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  if (!Array.isArray(v)) return undefined;
  if (v.length > 0 && v.every((b) => typeof b === 'number' && Number.isInteger(b) && b >= 0 && b <= 255)) {
    return decodeUtf8(Uint8Array.from(v as number[]));
  }
  const parts = v.map(fieldText).filter((s): s is string => s !== undefined);
  return parts.length > 0 ? parts.join(' ') : undefined;
}

/** The first value of a field that may have several (host, identifier, pid). */
function firstText(v: unknown): string | undefined {
  if (Array.isArray(v) && v.length > 0 && !v.every((b) => typeof b === 'number')) return fieldText(v[0]);
  return fieldText(v);
}

function micros(v: unknown): bigint | undefined {
  const t = firstText(v);
  return t !== undefined && /^\d{1,20}$/.test(t) ? BigInt(t) : undefined;
}

/**
 * The entry as fail2ban's systemd backend renders it (FilterSystemd.formatJournalEntry): host,
 * `ident[pid]:` (SYSLOG_IDENTIFIER or _COMM, SYSLOG_PID or _PID), the kernel's monotonic stamp for
 * kernel messages, then MESSAGE with new lines written as `\n`. fail2ban hands the time over
 * separately; a line on our bus carries it in front, in RFC 3339, so the matcher's date detection
 * reads it like any log line's date.
 */
export function formatJournalEntry(e: JournalEntry, fallbackMicros: bigint): string {
  const ident = firstText(e['SYSLOG_IDENTIFIER']) || firstText(e['_COMM']) || '';
  const pidText = firstText(e['SYSLOG_PID']) || firstText(e['_PID']);
  let message = fieldText(e['MESSAGE']) ?? '';
  if (ident === 'kernel') {
    const mono = micros(e['_SOURCE_MONOTONIC_TIMESTAMP']) ?? micros(e['__MONOTONIC_TIMESTAMP']);
    if (mono !== undefined) message = `[${(Number(mono) / 1e6).toFixed(6).padStart(12)}] ${message}`;
  }
  const at = micros(e['_SOURCE_REALTIME_TIMESTAMP']) ?? micros(e['__REALTIME_TIMESTAMP']) ?? fallbackMicros;
  return formatClassicLine({
    time: formatRfc3339Micros(at),
    host: firstText(e['_HOSTNAME']) ?? '',
    ident,
    pid: pidText ? formatPid(pidText) : undefined,
    message,
  });
}

/** fail2ban prints a numeric pid as an integer ("0x1f" and "042" included, as Python's int(v, 0)). */
function formatPid(text: string): string {
  const t = text.trim();
  if (/^[1-9]\d*$|^0$/.test(t)) return t;
  if (/^0[xX][0-9a-fA-F]+$|^0[oO][0-7]+$|^0[bB][01]+$/.test(t)) return String(Number(t));
  return text;
}

export function entryCursor(e: JournalEntry): string | undefined {
  const c = e['__CURSOR'];
  return typeof c === 'string' && c.length > 0 ? c : undefined;
}
