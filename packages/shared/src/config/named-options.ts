import { PortcullisError } from '../errors.js';
import type { NamedOptions, SourceRef } from './types.js';

/**
 * `name[key=value, key2="a, b", key3='x'][more=groups]` as fail2ban's helpers.extractOptions and
 * splitWithOptions read it (the regular expressions are fail2ban's, unchanged in meaning).
 */

const OPTION_RE = /^([^[]+)(?:\[(.*)\])?\s*$/s;
const OPTION_EXTRACT_RE = /\s*([\w\-.]+)=(?:"([^"]*)"|'([^']*)'|([^,\]]*))(?:,|\]\s*\[|$|(?<wrngA>.+))|,?\s*$|(?<wrngB>.+)/gs;
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

/**
 * fail2ban's splitWithOptions: the entries of a multi-entry value such as `action =`, split at
 * white space and new lines except inside `[...]` (where quoted values may hold anything).
 * fail2ban does this with a regular expression that backtracks exponentially on an unclosed `[`;
 * this scanner gives the same entries in linear time.
 */
export function splitNamedOptions(text: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < text.length) {
    while (i < text.length && isSpace(text[i])) i++;
    if (i >= text.length) break;
    const start = i;
    while (i < text.length && !isSpace(text[i]) && text[i] !== '[') i++;
    let end: number | undefined;
    if (i > start) {
      let j = i;
      while (j < text.length && isSpace(text[j])) j++;
      end = text[j] === '[' ? bracketsEnd(text, j) : i;
      if (end !== undefined && end < text.length && !isSpace(text[end])) end = undefined;
    }
    if (end === undefined) {
      // Not name[...]: the entry is the next run of non-space characters, as in fail2ban.
      end = start;
      while (end < text.length && !isSpace(text[end])) end++;
    }
    out.push(text.slice(start, end).trim());
    i = end;
  }
  return out.filter((s) => s !== '');
}

function isSpace(c: string | undefined): boolean {
  return c !== undefined && /\s/.test(c);
}

/** Index after `[...]` groups starting at `open` (also `[...] [...]`), or undefined if unclosed. */
function bracketsEnd(text: string, open: number): number | undefined {
  let k = open + 1;
  while (k < text.length) {
    const c = text[k];
    if (c === '=' && (text[k + 1] === '"' || text[k + 1] === "'")) {
      const close = text.indexOf(text[k + 1] as string, k + 2);
      if (close < 0) return undefined;
      k = close + 1;
      continue;
    }
    if (c === ']') {
      let j = k + 1;
      while (j < text.length && isSpace(text[j])) j++;
      if (text[j] === '[') {
        k = j + 1;
        continue;
      }
      return k + 1;
    }
    k++;
  }
  return undefined;
}

/** Every entry of a multi-line `action =` value (one per line, or several per line), parsed. */
export function parseNamedOptionList(text: string, context: NamedOptionContext = {}): NamedOptions[] {
  return splitNamedOptions(text).map((entry) => parseNamedOption(entry, context));
}
