/** One syslog message after parsing, whichever RFC it came in. */
export interface SyslogMessage {
  format: 'rfc3164' | 'rfc5424';
  facility: number;
  severity: number;
  /** The timestamp as sent (kept verbatim for the line), or undefined when absent or NILVALUE. */
  timestamp: string | undefined;
  /** HOSTNAME as sent, or undefined when absent or NILVALUE. */
  hostname: string | undefined;
  /** RFC 3164 TAG program / RFC 5424 APP-NAME; '' when absent. */
  appName: string;
  /** RFC 3164 `[pid]` / RFC 5424 PROCID; undefined when absent. */
  procId: string | undefined;
  /** RFC 5424 MSGID; undefined otherwise. */
  msgId: string | undefined;
  message: string;
}

export type ParseResult = { ok: true; message: SyslogMessage } | { ok: false; reason: string };

export const MAX_PRIVAL = 191;

/** `<PRI>` at the start: facility * 8 + severity, 0..191. Returns the value and the rest of the text. */
export function parsePri(text: string): { pri: number; rest: string } | { error: string } {
  const m = /^<(\d{1,3})>/.exec(text);
  if (!m) return { error: text.startsWith('<') ? 'PRI is not <0> to <191>' : 'does not start with <PRI>' };
  const pri = Number(m[1]);
  if (pri > MAX_PRIVAL) return { error: `PRI ${pri} is above ${MAX_PRIVAL}` };
  return { pri, rest: text.slice(m[0].length) };
}
