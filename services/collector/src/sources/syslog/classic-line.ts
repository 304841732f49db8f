/**
 * The classic syslog line layout, `<time> <host> <ident>[<pid>]: <message>`, which fail2ban's stock
 * filters expect after the date (their `__prefix_line`). Journal entries and syslog messages are
 * both rendered this way, as fail2ban's systemd backend renders journal entries, so one filter
 * serves a log file, the journal and a syslog listener alike.
 */
export interface ClassicLineParts {
  /** Date text the matcher's date detection understands (RFC 3339 or `Mmm dd hh:mm:ss`). */
  time: string;
  host: string;
  /** Program name (syslog tag, journal SYSLOG_IDENTIFIER); empty when unknown. */
  ident: string;
  pid?: string | undefined;
  message: string;
}

export function formatClassicLine(p: ClassicLineParts): string {
  const parts = [p.time];
  if (p.host) parts.push(oneToken(p.host));
  if (p.ident) parts.push(`${oneToken(p.ident)}${p.pid ? `[${oneToken(p.pid)}]` : ''}:`);
  parts.push(escapeNewlines(p.message));
  return parts.join(' ');
}

/** fail2ban keeps a multi-line message on one line by writing its new lines as the two characters `\n`. */
export function escapeNewlines(text: string): string {
  return text.replace(/\r?\n/g, '\\n');
}

/** A space inside host or program would shift every field a filter's prefix expects. */
function oneToken(text: string): string {
  return text.replace(/\s/g, '_');
}

/**
 * RFC 3339 in UTC with microseconds and an explicit `+00:00` (as rsyslog writes it): a date the
 * matcher's default templates read without guessing a year or a time zone.
 */
export function formatRfc3339Micros(epochMicros: bigint): string {
  const ms = Number(epochMicros / 1000n);
  const micros = Number(((epochMicros % 1_000_000n) + 1_000_000n) % 1_000_000n);
  const iso = new Date(ms).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  return `${iso.slice(0, 19)}.${String(micros).padStart(6, '0')}+00:00`;
}

export function formatRfc3339Ms(epochMs: number): string {
  return formatRfc3339Micros(BigInt(Math.trunc(epochMs)) * 1000n);
}
