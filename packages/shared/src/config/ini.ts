import { PortcullisError } from '../errors.js';
import type { IniEntry, IniSection, IniSections, SourceRef } from './types.js';

/**
 * INI reading with the semantics fail2ban gets from Python's configparser
 * (SafeConfigParserWithIncludes: comment_prefixes '#' and ';', inline_comment_prefixes ';',
 * empty_lines_in_values, default optionxform = lower-case keys, section names case-sensitive).
 */

export const DEFAULT_SECTION = 'DEFAULT';
export const INCLUDES_SECTION = 'INCLUDES';
/** fail2ban keeps the value a later file overrode in `KNOWN/<section>` for `%(known/opt)s`. */
export const KNOWN_PREFIX = 'KNOWN/';

const SECTION_RE = /^\[(.+)\]/;
const FULL_LINE_COMMENT = ['#', ';'];
const INLINE_COMMENT = ';';
/** `[name?family=inet6]`: fail2ban renames the keys of such a section to `key?family=inet6`. */
const CONDITIONAL_SECTION_RE = /^(\w+)(\?.+)$/;

export function newSection(ref?: SourceRef): IniSection {
  const section: IniSection = new Map<string, IniEntry>();
  if (ref) section.ref = ref;
  return section;
}

/** configparser's optionxform: keys are case-insensitive because they are stored lower-cased. */
export function optionKey(name: string): string {
  return name.toLowerCase();
}

/**
 * An inline `;` starts a comment only at the start of the line or after whitespace
 * (`a;b` stays a value); `#` is never an inline comment.
 */
function inlineCommentStart(line: string): number | undefined {
  let from = 0;
  for (;;) {
    const i = line.indexOf(INLINE_COMMENT, from);
    if (i < 0) return undefined;
    if (i === 0 || /\s/.test(line[i - 1] ?? '')) return i;
    from = i + 1;
  }
}

interface OpenValue {
  key: string;
  parts: string[];
  section: IniSection;
}

export function parseIni(text: string, file: string): IniSections {
  const sections: IniSections = new Map();
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  let current: IniSection | undefined;
  let open: OpenValue | undefined;
  let indentLevel = 0;

  const close = (): void => {
    if (!open) return;
    const entry = open.section.get(open.key);
    // configparser joins continuation lines with '\n' and rstrips the whole value.
    if (entry) entry.value = open.parts.join('\n').trimEnd();
    open = undefined;
  };

  lines.forEach((line, index) => {
    const lineNo = index + 1;
    let commentStart = inlineCommentStart(line);
    const trimmed = line.trim();
    if (FULL_LINE_COMMENT.some((p) => trimmed.startsWith(p))) commentStart = 0;
    const value = (commentStart === undefined ? line : line.slice(0, commentStart)).trim();

    if (value === '') {
      // empty_lines_in_values: a blank line (but not a comment line) becomes part of an open value;
      // trailing ones vanish when the value is rstripped.
      if (commentStart === undefined && open) open.parts.push('');
      return;
    }

    const indent = line.search(/\S/);
    if (open && indent > indentLevel) {
      open.parts.push(value);
      return;
    }
    close();
    indentLevel = indent;

    const header = SECTION_RE.exec(value);
    if (header) {
      const name = header[1] ?? '';
      let section = sections.get(name);
      if (!section) {
        section = newSection({ file, line: lineNo });
        sections.set(name, section);
      }
      current = section;
      return;
    }
    if (!current) {
      throw parseError(file, lineNo, `"${value}" is outside any [section]: start the file with a section header such as [DEFAULT] or [sshd]`);
    }
    // configparser's OPTCRE `(.*?)\s*([=:])\s*(.*)$`: the first "=" or ":" splits key from value.
    const delimiter = value.search(/[=:]/);
    if (delimiter < 0) {
      throw parseError(file, lineNo, `expected "key = value", a [section] header or a comment, got "${value}"`);
    }
    const rawKey = value.slice(0, delimiter).trimEnd();
    if (rawKey === '') throw parseError(file, lineNo, `missing option name before "${value[delimiter]}" in "${value}"`);
    const key = optionKey(rawKey);
    const first = value.slice(delimiter + 1).trim();
    // Duplicate keys: the last assignment wins (Map.set keeps the key's first position, like a dict).
    current.set(key, { value: first, ref: { file, line: lineNo } });
    open = { key, parts: [first], section: current };
  });
  close();
  return sections;
}

function parseError(file: string, line: number, message: string): PortcullisError {
  return new PortcullisError('PC_CONFIG_PARSE', message, { location: { file, line } });
}

/**
 * Merges the sections of one more file over `into` (mutating and returning it), as fail2ban does
 * when it reads a list of files: a key a later file sets replaces the earlier one, and the value it
 * replaced is kept under `KNOWN/<section>` so `%(known/key)s` can still reach it. [DEFAULT] keeps no
 * KNOWN values. Conditional sections `[name?cond]` merge into `name` with keys renamed `key?cond`.
 */
export function mergeIni(into: IniSections, from: IniSections): IniSections {
  for (const [rawName, source] of from) {
    let name = rawName;
    let entries: Iterable<[string, IniEntry]> = source;
    const conditional = CONDITIONAL_SECTION_RE.exec(rawName);
    if (conditional) {
      name = conditional[1] ?? rawName;
      const cond = conditional[2] ?? '';
      entries = [...source].map(([k, e]): [string, IniEntry] => [k + cond, e]);
    }
    const target = into.get(name);
    if (!target) {
      const copy = newSection(source.ref);
      for (const [k, e] of entries) copy.set(k, { ...e });
      into.set(name, copy);
      continue;
    }
    const list = [...entries];
    if (name !== DEFAULT_SECTION) {
      const knownName = KNOWN_PREFIX + name;
      let known = into.get(knownName);
      for (const [k] of list) {
        const previous = target.get(k);
        if (!previous) continue;
        if (!known) {
          known = newSection(target.ref);
          into.set(knownName, known);
        }
        known.set(k, previous);
      }
    }
    for (const [k, e] of list) target.set(k, { ...e });
  }
  return into;
}
