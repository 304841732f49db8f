import type { ParseResult } from './syslog-message.js';

// "Mmm dd hh:mm:ss" with a space-padded day (RFC 3164 4.1.2); some senders zero-pad it.
const BSD_TIMESTAMP_RE = /^(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) ([ 0]?[1-9]|[12]\d|3[01]) ([01]\d|2[0-3]):[0-5]\d:[0-5]\d(?= |$)/;
// rsyslog and syslog-ng forward "RFC 3164 with an RFC 3339 date" by default: accepted as well.
const RFC3339_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})(?= |$)/;
/** TAG = program, optional [pid], then ":" (RFC 3164 4.1.3; "postfix/smtpd" and dots occur in practice). */
const TAG_RE = /^([^\s[\]:]{1,128})(?:\[([^\s\]]{0,128})\])?:(?: |$)/;
const HOSTNAME_RE = /^[^\s]{1,255}(?= |$)/;

/**
 * Parses what follows `<PRI>` of a BSD syslog message. RFC 3164 is descriptive, so this is as lenient
 * as rsyslog: a missing timestamp means the whole text is content (4.3.2: the receiver adds its own),
 * a hostname is present only after a timestamp, and a first word that already looks like `tag:` or
 * `tag[pid]:` is the tag of a sender that left the hostname out (as local senders do).
 */
export function parseRfc3164(pri: number, afterPri: string): ParseResult {
  let rest = afterPri;
  let timestamp: string | undefined;
  let hostname: string | undefined;
  const ts = BSD_TIMESTAMP_RE.exec(rest) ?? RFC3339_RE.exec(rest);
  if (ts) {
    timestamp = ts[0];
    rest = rest.slice(ts[0].length).replace(/^ /, '');
    if (!TAG_RE.test(rest)) {
      const h = HOSTNAME_RE.exec(rest);
      if (h) {
        hostname = h[0];
        rest = rest.slice(h[0].length).replace(/^ /, '');
      }
    }
  }
  let appName = '';
  let procId: string | undefined;
  const tag = TAG_RE.exec(rest);
  if (tag) {
    appName = tag[1] ?? '';
    procId = tag[2] || undefined;
    rest = rest.slice(tag[0].length);
  }
  if (rest.trim() === '' && appName === '') return { ok: false, reason: 'RFC 3164: no content after the header' };
  return {
    ok: true,
    message: { format: 'rfc3164', facility: pri >> 3, severity: pri & 7, timestamp, hostname, appName, procId, msgId: undefined, message: rest },
  };
}
