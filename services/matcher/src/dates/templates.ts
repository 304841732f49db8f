import type { Ranges, UnicodeTables } from '../filter/regex/charset.js';
import type { TranslatedRegex } from '../filter/translate.js';
import { translatePattern } from '../filter/translate.js';
import { expandDirectives, timeRe } from './time-re.js';

/**
 * Date templates: fail2ban's DateTemplate/DatePatternRegex/DateEpoch/DateTai64n, as Python-regex
 * text translated to RE2 like any filter pattern. Group 1 is the date text that is cut out of the
 * line before failregex runs.
 */
export type TemplateKind = 'pattern' | 'epoch' | 'lepoch' | 'tai64n' | 'none';

export interface DateTemplate {
  name: string;
  kind: TemplateKind;
  regex: TranslatedRegex;
  /** Anchored at the line start: fail2ban stops searching other templates once one matches. */
  lineBegin: boolean;
  /** The characters the line can have right before the date text (see Prefilter's gate). */
  charsBefore: Ranges;
}

/** fail2ban's DateDetectorCache.DEFAULT_TEMPLATES, in its order. */
export const DEFAULT_TEMPLATE_PATTERNS: readonly string[] = [
  '%ExY(?P<_sep>[-/.])%m(?P=_sep)%d(?:T|  ?)%H:%M:%S(?:[.,]%f)?(?:\\s*%z)?',
  '(?:%a )?%b %d %k:%M:%S(?:\\.%f)?(?: %ExY)?',
  '(?:%a )?%b %d %ExY %k:%M:%S(?:\\.%f)?',
  '%d(?P<_sep>[-/])%m(?P=_sep)(?:%ExY|%Exy) %k:%M:%S',
  '%d(?P<_sep>[-/])%b(?P=_sep)%ExY[ :]?%H:%M:%S(?:\\.%f)?(?: %z)?',
  '%m/%d/%ExY:%H:%M:%S',
  '%m-%d-%ExY %k:%M:%S(?:\\.%f)?',
  'EPOCH',
  '{^LN-BEG}%H:%M:%S',
  '^<%m/%d/%Exy@%H:%M:%S>',
  '%Exy%Exm%Exd  ?%H:%M:%S',
  '%b %d, %ExY %I:%M:%S %p',
  '^%b-%d-%Exy %k:%M:%S',
  '%ExY%Exm%Exd(?:T|  ?)%ExH%ExM%ExS(?:[.,]%f)?(?:\\s*%z)?',
  '(?:%Z )?(?:%a )?%b %d %k:%M:%S(?:\\.%f)?(?: %ExY)?',
  '(?:%z )?(?:%a )?%b %d %k:%M:%S(?:\\.%f)?(?: %ExY)?',
  'TAI64N',
];

const WORD_BEGIN = '(?:\\b|(?=\\W))';
const WORD_END = '(?:\\b|(?=\\W)|$)';
const LINE_BEGIN = '^(?:\\W{0,2})?';
// fail2ban writes \d{10,11}\b(...)?: the \b is implied by the word-end check after the group.
const EPOCH_RE = '\\d{10,11}(?:\\.\\d{3,6})?';
const LEPOCH_RE = '\\d{10,11}(?:\\d{3}(?:\\.\\d{1,6}|\\d{3})?)?';

export interface TemplateBuildContext {
  tables: UnicodeTables;
  /** Year used for %ExY (fail2ban builds it from the current year). */
  year: number;
}

function compile(name: string, kind: TemplateKind, py: string, lineBegin: boolean, ctx: TemplateBuildContext): DateTemplate {
  const regex = translatePattern(py, { tables: ctx.tables, tags: false, keepNumbered: ['1'], indices: true, charsBefore: '1' });
  return { name, kind, regex, lineBegin, charsBefore: regex.charsBefore ?? [0, 0x10ffff] };
}

/** A `%`-pattern (or EPOCH/LEPOCH/TAI64N, optionally `{^LN-BEG}`/`^`-anchored) as a template. */
export function buildTemplate(pattern: string, ctx: TemplateBuildContext): DateTemplate {
  let p = pattern.trim();
  const upper = p.toUpperCase();
  const anchoredKey = upper.replace(/^\{\^LN-BEG\}|^\^/, '');
  const isAnchored = anchoredKey !== upper;
  if (!p.includes('%') && ['EPOCH', 'LEPOCH', 'TAI64N'].includes(anchoredKey)) {
    if (anchoredKey === 'TAI64N') {
      return compile(pattern, 'tai64n', `${isAnchored ? LINE_BEGIN : ''}(@[0-9a-f]{24})${WORD_END}`, isAnchored, ctx);
    }
    const body = anchoredKey === 'LEPOCH' ? LEPOCH_RE : EPOCH_RE;
    const kind = anchoredKey === 'LEPOCH' ? 'lepoch' : 'epoch';
    // fail2ban's own conditionals here never reject anything (both branches end in an empty match),
    // so the epoch is accepted at line start, after a leading '[' or after 'audit('.
    const py = isAnchored ? `${LINE_BEGIN}(${body})${WORD_END}` : `(?:^|^\\[|\\baudit\\()(${body})${WORD_END}`;
    return compile(pattern, kind, py, true, ctx);
  }
  let wordBegin: boolean | 'start' = true;
  let wordEnd = true;
  if (p.startsWith('{UNB}')) {
    p = p.slice(5);
    wordBegin = false;
    wordEnd = false;
  }
  if (wordBegin && p.startsWith('{^LN-BEG}')) {
    p = p.slice(9);
    wordBegin = 'start';
  }
  const { regex, alpha } = expandDirectives(p, timeRe(ctx.year));
  let re = regex.trim();
  let flags = '';
  const gf = /^\(\?([a-z]+)\)/.exec(re);
  if (gf) {
    flags = gf[1] as string;
    re = re.slice((gf[0] as string).length);
  }
  if (alpha && !flags.includes('i')) flags += 'i';
  const boundBegin = wordBegin !== false && !/^\(*(?:\(\?\w+\))?(?:\^|\(*\*\*|\((?:\?:)?\^)/.test(re);
  const boundEnd = wordEnd && !/(?<!\\)(?:\$\)?|\\b|\\s|\*\*\)*)$/.test(re);
  if (!/(?<!\(\?)(?<!\\)\((?!\?)/.test(re)) {
    const m = /^((?:\(\?\w+\))?\^?(?:\(\?\w+\))?)(.*?)(\$?)$/s.exec(re);
    if (m) re = `${m[1]}(${m[2]})${m[3]}`;
  }
  let lineBegin = /^(?:\(\?\w+\))?(?:\^|\((?:\?:)?\^(?!\|))/.test(re);
  if (boundBegin) {
    if (wordBegin === 'start') {
      re = LINE_BEGIN + re;
      lineBegin = true;
    } else re = WORD_BEGIN + re;
  }
  if (boundEnd) re += WORD_END;
  re = re.replace(/^\(*(?:\(\?\w+\))?\(*\*\*|(?<!\\)\*\*\)*$/g, (m) => m.replace('**', ''));
  if (flags) re = `(?${flags})${re}`;
  return compile(pattern, 'pattern', re, lineBegin, ctx);
}

/** The default template set: line-start anchored variants first (fail2ban gives them weight 100). */
export function defaultTemplates(ctx: TemplateBuildContext, filter?: (t: DateTemplate) => boolean): DateTemplate[] {
  const anchored: DateTemplate[] = [];
  const plain: DateTemplate[] = [];
  for (const p of DEFAULT_TEMPLATE_PATTERNS) {
    const t = buildTemplate(p, ctx);
    if (!p.startsWith('{^LN-BEG}') && !p.startsWith('^')) {
      const a = buildTemplate(p === 'EPOCH' || p === 'TAI64N' ? `{^LN-BEG}${p}` : `{^LN-BEG}${p}`, ctx);
      if (a.name !== t.name) anchored.push(a);
    }
    plain.push(t);
  }
  const all = [...anchored, ...plain];
  return filter ? all.filter(filter) : all;
}

/** Strip fail2ban's boundary markers from a template pattern for use inside `{DATE}`. */
export function unboundPattern(p: string): string {
  return p.replace(/^\{UNB\}/, '').replace(/^\{\^LN-BEG\}/, '');
}

/** `datepattern` value -> templates (several lines allowed; {^LN-BEG}, {NONE}, {DATE} as fail2ban). */
export function templatesFor(datepattern: string | undefined, ctx: TemplateBuildContext): DateTemplate[] {
  if (datepattern === undefined || datepattern.trim() === '' || datepattern.trim().toUpperCase() === '{DEFAULT}') return defaultTemplates(ctx);
  const out: DateTemplate[] = [];
  for (const line of datepattern.split(/\n+/).map((s) => s.trim()).filter(Boolean)) {
    const key = line.includes('%') ? line : line.toUpperCase();
    if (key === '{^LN-BEG}') out.push(...defaultTemplates(ctx, (t) => t.lineBegin));
    else if (key === '{DEFAULT}') out.push(...defaultTemplates(ctx));
    else if (key === '{NONE}') out.push(compile(line, 'none', '^()', true, ctx));
    else if (/(?<!\\)\{DATE\}/i.test(line)) {
      for (const p of DEFAULT_TEMPLATE_PATTERNS) {
        if (p === 'EPOCH' || p === 'TAI64N') continue;
        out.push(buildTemplate(line.replace(/(?<!\\)\{DATE\}/gi, unboundPattern(p)), ctx));
      }
    } else out.push(buildTemplate(line, ctx));
  }
  return out;
}
