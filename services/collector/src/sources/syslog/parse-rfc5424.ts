import type { ParseResult } from './syslog-message.js';

// RFC 5424 section 6: HEADER = PRI VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID
const TIMESTAMP_RE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d{1,6})?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$/;
/** PRINTUSASCII (%d33-126) runs, with each field's maximum length. */
const FIELD_LIMITS = { hostname: 255, appName: 48, procId: 128, msgId: 32 } as const;
const PRINTUSASCII_RE = /^[\x21-\x7e]+$/;
const BOM = '\ufeff';

/**
 * Parses what follows `<PRI>` of an RFC 5424 message ("1 2003-10-11T22:14:15.003Z host app - ID47 - msg").
 * Strict on the header, since a header that does not parse means the fields cannot be trusted;
 * structured data is checked for well-formedness and not kept (filters match the message text).
 */
export function parseRfc5424(pri: number, afterPri: string): ParseResult {
  const fail = (reason: string): ParseResult => ({ ok: false, reason: `RFC 5424: ${reason}` });
  if (!afterPri.startsWith('1 ')) return fail('VERSION is not 1');
  let pos = 2;
  const next = (): string | undefined => {
    const sp = afterPri.indexOf(' ', pos);
    const end = sp === -1 ? afterPri.length : sp;
    if (end === pos) return undefined;
    const field = afterPri.slice(pos, end);
    pos = sp === -1 ? afterPri.length : sp + 1;
    return field;
  };
  const timestamp = next();
  if (timestamp === undefined) return fail('TIMESTAMP is missing');
  if (timestamp !== '-' && !TIMESTAMP_RE.test(timestamp)) return fail(`TIMESTAMP ${JSON.stringify(timestamp.slice(0, 40))} is not RFC 3339`);
  const fields: Partial<Record<keyof typeof FIELD_LIMITS, string>> = {};
  for (const name of ['hostname', 'appName', 'procId', 'msgId'] as const) {
    const v = next();
    if (v === undefined) return fail(`${name.toUpperCase()} is missing`);
    if (!PRINTUSASCII_RE.test(v) || v.length > FIELD_LIMITS[name]) {
      return fail(`${name.toUpperCase()} must be 1 to ${FIELD_LIMITS[name]} printable ASCII characters`);
    }
    fields[name] = v;
  }
  if (pos >= afterPri.length) return fail('STRUCTURED-DATA is missing');
  const sdEnd = skipStructuredData(afterPri, pos);
  if (typeof sdEnd === 'string') return fail(sdEnd);
  let message = '';
  if (sdEnd < afterPri.length) {
    if (afterPri[sdEnd] !== ' ') return fail('STRUCTURED-DATA is not followed by a space');
    message = afterPri.slice(sdEnd + 1);
    if (message.startsWith(BOM)) message = message.slice(BOM.length);
  }
  const nil = (v: string | undefined): string | undefined => (v === '-' ? undefined : v);
  return {
    ok: true,
    message: {
      format: 'rfc5424',
      facility: pri >> 3,
      severity: pri & 7,
      timestamp: nil(timestamp),
      hostname: nil(fields.hostname),
      appName: nil(fields.appName) ?? '',
      procId: nil(fields.procId),
      msgId: nil(fields.msgId),
      message,
    },
  };
}

/**
 * STRUCTURED-DATA = NILVALUE / 1*SD-ELEMENT, SD-ELEMENT = "[" SD-ID *(SP PARAM-NAME="value") "]",
 * with `"`, `\` and `]` escaped by a backslash inside values. Returns the index after it or an error.
 */
function skipStructuredData(s: string, start: number): number | string {
  if (s[start] === '-') return start + 1;
  if (s[start] !== '[') return 'STRUCTURED-DATA is neither "-" nor [element]';
  let i = start;
  while (s[i] === '[') {
    i++;
    const id = /^[^\s="\]]{1,32}/.exec(s.slice(i, i + 33));
    if (!id) return 'SD-ID is missing or invalid';
    i += id[0].length;
    while (s[i] === ' ') {
      i++;
      const name = /^[^\s="\]]{1,32}=/.exec(s.slice(i, i + 34));
      if (!name) return 'SD-PARAM name is missing or invalid';
      i += name[0].length;
      if (s[i] !== '"') return 'SD-PARAM value is not quoted';
      i++;
      for (;;) {
        const c = s[i];
        if (c === undefined) return 'SD-PARAM value is not terminated';
        if (c === '\\') i += 2;
        else if (c === '"') break;
        else i++;
      }
      i++;
    }
    if (s[i] !== ']') return 'SD-ELEMENT is not closed by "]"';
    i++;
  }
  return i;
}
