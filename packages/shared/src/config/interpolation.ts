import { PortcullisError } from '../errors.js';
import { DEFAULT_SECTION, KNOWN_PREFIX, optionKey } from './ini.js';
import type { IniSections, SourceRef } from './types.js';

/**
 * `%(name)s` interpolation as fail2ban does it (configparser's BasicInterpolation plus fail2ban's
 * `__name__` and `%(section/option)s` / `%(known/option)s` / `%(default/option)s` additions).
 * `<tag>` substitution is not done here: it belongs to the filter and action engines.
 */

/** configparser's limit on nested references. */
export const MAX_INTERPOLATION_DEPTH = 10;

export interface LookupResult {
  /** The raw value, interpolated again in the same scope when it contains `%`. */
  value: string;
  ref?: SourceRef;
  /** A final value (the section name, a caller-supplied value): never interpolated again. */
  literal?: boolean;
}

/** Resolves a name as written inside `%(...)s`. */
export type Lookup = (name: string) => LookupResult | undefined;

export interface InterpolationContext {
  /** The option being read, for messages. */
  option?: string;
  section?: string;
}

const KEY_RE = /^%\(([^)]+)\)s/;
/** fail2ban's SECTION_OPTSUBST_CRE: `section/option` with a word-ish section name. */
const SECTION_OPTION_RE = /^([\w-]+)\/([^)]+)$/;

interface Frame {
  name: string;
  ref: SourceRef;
}

export function interpolate(value: string, lookup: Lookup, ref: SourceRef, context: InterpolationContext = {}): string {
  const out: string[] = [];
  expand(value, lookup, [{ name: context.option ?? '', ref }], context, out);
  return out.join('');
}

function expand(rest: string, lookup: Lookup, chain: Frame[], context: InterpolationContext, out: string[]): void {
  const here = chain[chain.length - 1] as Frame;
  if (chain.length > MAX_INTERPOLATION_DEPTH) {
    throw interpolationError(here.ref, `references nest deeper than ${MAX_INTERPOLATION_DEPTH} levels (${describeChain(chain)})`, context, chain);
  }
  let i = 0;
  while (i < rest.length) {
    const p = rest.indexOf('%', i);
    if (p < 0) {
      out.push(rest.slice(i));
      return;
    }
    out.push(rest.slice(i, p));
    const next = rest[p + 1];
    if (next === '%') {
      out.push('%');
      i = p + 2;
      continue;
    }
    if (next !== '(') {
      throw interpolationError(here.ref, `a lone "%" in ${JSON.stringify(rest)}: write "%%" for a literal percent sign or %(name)s for a reference`, context, chain);
    }
    const m = KEY_RE.exec(rest.slice(p));
    if (!m) {
      throw interpolationError(here.ref, `bad reference ${JSON.stringify(rest.slice(p, p + 40))}: references are written %(name)s`, context, chain);
    }
    const written = m[1] ?? '';
    const name = optionKey(written);
    i = p + m[0].length;
    if (chain.some((f) => f.name === name)) {
      // fail2ban keeps one earlier value per key, so `%(known/x)s` in two successive overrides loops.
      const hint = name.startsWith('known/') ? '; the earlier value it names uses %(known/...)s too, and only one earlier value is kept per key' : '';
      throw interpolationError(here.ref, `%(${written})s refers back to itself (${describeChain([...chain, { name, ref: here.ref }])})${hint}`, context, chain);
    }
    const found = lookup(written);
    if (!found) {
      throw interpolationError(here.ref, `%(${written})s is not defined`, context, chain);
    }
    if (found.literal || !found.value.includes('%')) {
      out.push(found.value);
    } else {
      expand(found.value, lookup, [...chain, { name, ref: found.ref ?? here.ref }], context, out);
    }
  }
}

function describeChain(chain: Frame[]): string {
  return chain
    .map((f) => f.name)
    .filter((n) => n !== '')
    .join(' -> ');
}

function interpolationError(at: SourceRef, message: string, context: InterpolationContext, chain: Frame[]): PortcullisError {
  const origin = chain[0] as Frame;
  const parts: string[] = [];
  if (context.option) parts.push(`option "${context.option}"`);
  if (context.section) parts.push(`of [${context.section}]`);
  const sameLine = origin.ref.file === at.file && origin.ref.line === at.line;
  if (parts.length > 0 && !sameLine) parts.push(`set at ${origin.ref.file}:${origin.ref.line}`);
  const suffix = parts.length > 0 ? ` (while reading ${parts.join(' ')})` : '';
  return new PortcullisError('PC_CONFIG_INTERPOLATION', message + suffix, { location: { file: at.file, line: at.line } });
}

/**
 * The names visible from one section, in fail2ban's order: `__name__` (the section's name), then
 * the caller's values (configparser's `vars`, e.g. a jail's options and `filter[key=value]`
 * arguments, which win over the file's own), then the section, then [DEFAULT], then
 * `section/option` forms.
 */
export function sectionLookup(sections: IniSections, sectionName: string, extra: Record<string, string> = {}): Lookup {
  const section = sections.get(sectionName);
  const defaults = sections.get(DEFAULT_SECTION);
  const extraByKey = new Map(Object.entries(extra).map(([k, v]) => [optionKey(k), v]));
  return (written: string): LookupResult | undefined => {
    const name = optionKey(written);
    if (name === '__name__') return { value: sectionName, literal: true };
    const given = extraByKey.get(name);
    if (given !== undefined) return { value: given, literal: true };
    const own = section?.get(name) ?? defaults?.get(name);
    if (own) return own;
    const qualified = SECTION_OPTION_RE.exec(written);
    if (!qualified) return undefined;
    const sec = qualified[1] ?? '';
    const opt = optionKey(qualified[2] ?? '');
    const lower = sec.toLowerCase();
    if (lower === 'default') return defaults?.get(opt);
    if (lower === 'known') return sections.get(KNOWN_PREFIX + sectionName)?.get(opt) ?? defaults?.get(opt);
    const other = sections.get(sec);
    if (!other) return undefined;
    return other.get(opt) ?? defaults?.get(opt);
  };
}

/** One option of a section, interpolated; undefined when neither the section nor [DEFAULT] has it. */
export function resolveOption(
  sections: IniSections,
  sectionName: string,
  option: string,
  extra: Record<string, string> = {},
): string | undefined {
  const key = optionKey(option);
  const given = Object.entries(extra).find(([k]) => optionKey(k) === key);
  if (given) return given[1];
  const entry = sections.get(sectionName)?.get(key) ?? sections.get(DEFAULT_SECTION)?.get(key);
  if (!entry) return undefined;
  return interpolate(entry.value, sectionLookup(sections, sectionName, extra), entry.ref, { option: key, section: sectionName });
}

export interface ResolveOptions {
  /**
   * Leave out options whose references cannot be resolved instead of throwing. fail2ban only
   * interpolates the options it reads, so a stock [DEFAULT] may hold definitions (e.g.
   * `action_cf_mwl` needs `cfemail`) that are fine as long as nothing uses them.
   */
  skipUnresolvable?: boolean;
}

/**
 * Every option of a section and of [DEFAULT], interpolated. Values given in `extra` win for the
 * keys they name (as configparser's `vars` do) and are returned as given.
 */
export function resolveSection(
  sections: IniSections,
  sectionName: string,
  extra: Record<string, string> = {},
  options: ResolveOptions = {},
): Record<string, string> {
  const lookup = sectionLookup(sections, sectionName, extra);
  const extraByKey = new Map(Object.entries(extra).map(([k, v]) => [optionKey(k), v]));
  const merged = new Map([...(sections.get(DEFAULT_SECTION) ?? []), ...(sections.get(sectionName) ?? [])]);
  const result: Record<string, string> = {};
  for (const [key, entry] of merged) {
    const given = extraByKey.get(key);
    if (given !== undefined) {
      result[key] = given;
      continue;
    }
    try {
      result[key] = interpolate(entry.value, lookup, entry.ref, { option: key, section: sectionName });
    } catch (e) {
      if (!options.skipUnresolvable || !(e instanceof PortcullisError) || e.code !== 'PC_CONFIG_INTERPOLATION') throw e;
    }
  }
  return result;
}
