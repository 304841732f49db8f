/**
 * Text that came from the bus (jail and host names, user names, log lines) is untrusted: it may
 * hold CR/LF meant to forge mail headers, terminal escapes, or bidirectional overrides that make a
 * subject read differently from what it says. These helpers make such text inert before any
 * channel formats it; each channel still escapes for its own syntax (HTML, Slack mrkdwn, JSON).
 */

// C0 and C1 controls, DEL, line/paragraph separators, bidi embeddings/overrides/isolates, BOM.
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/gu;
// The same without TAB, for multi-line bodies where a tab is harmless.
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const UNSAFE_IN_BODY = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/gu;

/**
 * A value safe on one line of a header (Subject): controls become spaces, runs of white space
 * collapse, and the result is cut to `max` characters. Never contains CR or LF.
 */
export function headerSafe(text: string, max = 80): string {
  const flat = text.replace(UNSAFE, ' ').replace(/\s+/g, ' ').trim();
  return truncate(flat, max);
}

/**
 * A log line (or user name) as it is shown in a body: every control character becomes a visible
 * escape (`\r`, `\n`, `\x1b`, `\u202e`), so an injected CR/LF or escape sequence is shown, not obeyed.
 */
export function visibleLine(text: string, max = 4096): string {
  const shown = text.replace(UNSAFE_IN_BODY, (c) => {
    if (c === '\r') return '\\r';
    if (c === '\n') return '\\n';
    const code = c.codePointAt(0) ?? 0;
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
  return truncate(shown, max);
}

export function truncate(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : chars.slice(0, Math.max(0, max - 1)).join('') + '…';
}
