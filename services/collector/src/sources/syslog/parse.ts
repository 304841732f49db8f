import { parseRfc3164 } from './parse-rfc3164.js';
import { parseRfc5424 } from './parse-rfc5424.js';
import { parsePri, type ParseResult } from './syslog-message.js';

/**
 * One syslog message (already framed, terminators removed) in either RFC. `<PRI>1 ` selects RFC 5424:
 * a BSD timestamp starts with a month name, so the two cannot be confused.
 */
export function parseSyslog(text: string): ParseResult {
  if (text.length === 0) return { ok: false, reason: 'empty message' };
  const p = parsePri(text);
  if ('error' in p) return { ok: false, reason: p.error };
  if (/^\d /.test(p.rest)) return parseRfc5424(p.pri, p.rest);
  return parseRfc3164(p.pri, p.rest);
}
