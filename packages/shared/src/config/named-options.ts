import { PortcullisError } from '../errors.js';
import type { NamedOptions, SourceRef } from './types.js';

/**
 * `name[key=value, key2="a, b", key3='x'][more=groups]` as fail2ban's helpers.extractOptions and
 * splitWithOptions read it (the regular expressions are fail2ban's, unchanged in meaning).
 */

const OPTION_RE = /^([^[]+)(?:\[(.*)\])?\s*$/s;
const OPTION_EXTRACT_RE = /\s*([\w\-.]+)=(?:"([^"]*)"|'([^']*)'|([^,\]]*))(?:,|\]\s*\[|$|(?<wrngA>.+))|,?\s*$|(?<wrngB>.+)/gs;
// Splits on whitespace and new lines, but not inside [...].
const OPTION_SPLIT_RE =
  /(?:[^[\s]+(?:\s*\[\s*(?:[\w\-.]+=(?:"[^"]*"|'[^']*'|[^,\]]*)\s*(?:,|\]\s*\[)?\s*)*\])?\s*|\S+)(?=\n\s*|\s+|$)/gs;

/** What the value is, for messages: "filter", "action", ... */
export interface NamedOptionContext {
  what?: string;
  ref?: SourceRef;
}

export function parseNamedOption(text: string, context: NamedOptionContext = {}): NamedOptions {
  const what = context.what ?? 'value';
  const fail = (why: string): PortcullisError =>
    new PortcullisError('PC_CONFIG_INVALID', `invalid ${what} ${JSON.stringify(text)}: ${why}`, context.ref ? { location: context.ref } : {});
  const m = OPTION_RE.exec(text.trim());
  if (!m) throw fail('expected name or name[key=value, ...]');
  const name = (m[1] ?? '').trim();
  if (name === '') throw fail('the name before "[" is missing');
  const options: Record<string, string> = {};
  const body = m[2];
  if (body) {
    for (const opt of body.matchAll(OPTION_EXTRACT_RE)) {
      const wrongAfter = opt.groups?.['wrngA'];
      if (wrongAfter !== undefined) {
        throw fail(`unexpected ${JSON.stringify(wrongAfter.slice(0, 25))} after option "${opt[1]}": quote values that contain "," or "]"`);
      }
      const wrong = opt.groups?.['wrngB'];
      if (wrong !== undefined) throw fail(`expected key=value at ${JSON.stringify(wrong.slice(0, 25))}`);
      const key = opt[1];
      if (!key) continue;
      const value = opt[2] ?? opt[3] ?? opt[4] ?? '';
      options[key.trim()] = value.trim();
    }
  }
  return { name, options };
}

/** fail2ban's splitWithOptions: the entries of a multi-entry value such as `action =`. */
export function splitNamedOptions(text: string): string[] {
  return (text.match(OPTION_SPLIT_RE) ?? []).map((s) => s.trim()).filter((s) => s !== '');
}

/** Every entry of a multi-line `action =` value (one per line, or several per line), parsed. */
export function parseNamedOptionList(text: string, context: NamedOptionContext = {}): NamedOptions[] {
  return splitNamedOptions(text).map((entry) => parseNamedOption(entry, context));
}
