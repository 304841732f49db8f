import type { IniSections, SourceRef } from '@portcullis/shared';
import { interpolate, isPortcullisError, optionKey, resolveSection, sectionLookup } from '@portcullis/shared';

/**
 * fail2ban's FilterReader (DefinitionInitConfigReader.getOptions(all=True) + getCombined): the
 * [Definition] options interpolated with the jail's options and the filter's `name[k=v]` arguments as
 * overriding variables, merged with [Init] and the arguments, then `<tag>` references substituted
 * recursively (helpers.substituteRecursiveTags). Tags with no definition (<HOST>, <F-USER>...) stay.
 */
export interface FilterDefinition {
  options: Record<string, string>;
  /** Where each option was set, for error messages. */
  refs: Record<string, SourceRef>;
}

const DEFINITION = 'Definition';
const INIT = 'Init';
const TAG_RE = /<([^ <>]+)>/g;
const MAX_TAG_REPLACE = 25;

export function combineFilterOptions(
  sections: IniSections,
  args: Record<string, string>,
  jailOptions: Record<string, string>,
): FilterDefinition {
  const lower = (o: Record<string, string>): Record<string, string> => Object.fromEntries(Object.entries(o).map(([k, v]) => [optionKey(k), v]));
  const initArgs = lower(args);
  const pOpts = { ...lower(jailOptions), ...initArgs };
  const refs: Record<string, SourceRef> = {};
  for (const name of ['DEFAULT', DEFINITION, INIT]) {
    for (const [k, e] of sections.get(name) ?? []) refs[k] = e.ref;
  }
  const definition = resolveSection(sections, DEFINITION, pOpts, { skipUnresolvable: true });
  // Only options the file defines (or fail2ban's known filter options given by the jail) are kept.
  const known = new Set([...(sections.get(DEFINITION)?.keys() ?? []), ...(sections.get('DEFAULT')?.keys() ?? [])]);
  const opts: Record<string, string> = {};
  for (const [k, v] of Object.entries(definition)) if (known.has(k)) opts[k] = v;
  for (const k of ['usedns', 'prefregex', 'ignoreregex', 'failregex', 'maxlines', 'datepattern', 'journalmatch']) {
    if (pOpts[k] !== undefined) opts[k] = pOpts[k];
  }
  const init: Record<string, string> = { ...initArgs };
  const initSection = sections.get(INIT);
  if (initSection) {
    const initValues = resolveSection(sections, INIT, {}, { skipUnresolvable: true });
    for (const k of initSection.keys()) {
      const v = initValues[k];
      if (v === undefined) continue;
      if (!k.startsWith('known/')) init[`known/${k}`] = v;
      if (!(k in init)) init[k] = v;
    }
  }
  const combined = { ...opts, ...init };
  const lookup = sectionLookup(sections, DEFINITION, pOpts);
  const addRepl = (tag: string): string | undefined => {
    const entry = lookup(tag);
    if (!entry) return undefined;
    try {
      return entry.literal ? entry.value : interpolate(entry.value, lookup, entry.ref ?? { file: '', line: 0 }, { option: tag, section: DEFINITION });
    } catch (e) {
      if (isPortcullisError(e, 'PC_CONFIG_INTERPOLATION')) return undefined;
      throw e;
    }
  };
  return { options: substituteTags(combined, addRepl), refs };
}

/** Port of fail2ban's helpers.substituteRecursiveTags (same order, same recursion limits). */
export function substituteTags(input: Record<string, string>, addRepl?: (tag: string) => string | undefined): Record<string, string> {
  const tags: Record<string, string> = { ...input };
  const done = new Set<string>();
  const repCounts = new Map<string, Map<string, number>>();
  for (;;) {
    let repeat = false;
    for (const tag of Object.keys(tags)) {
      if (done.has(tag)) continue;
      const orig = tags[tag] as string;
      let value = orig;
      const rplc = repCounts.get(tag) ?? new Map<string, number>();
      TAG_RE.lastIndex = 0;
      let m = TAG_RE.exec(value);
      while (m) {
        const rtag = m[1] as string;
        if (rtag === tag || (rplc.get(rtag) ?? 1) > MAX_TAG_REPLACE) {
          throw new Error(`self-referencing tag definition: <${rtag}> in option ${tag}`);
        }
        let repl: string | undefined = tags[rtag];
        if (repl === undefined && addRepl) repl = addRepl(rtag);
        if (repl === undefined) {
          TAG_RE.lastIndex = m.index + m[0].length;
          m = TAG_RE.exec(value);
          continue;
        }
        value = value.split(`<${rtag}>`).join(repl);
        rplc.set(rtag, (rplc.get(rtag) ?? 0) + 1);
        TAG_RE.lastIndex = m.index;
        m = TAG_RE.exec(value);
      }
      if (value !== orig) {
        TAG_RE.lastIndex = 0;
        if (TAG_RE.test(value)) {
          repCounts.set(tag, rplc);
          repeat = true;
        }
        tags[tag] = value;
      }
      if (!value.includes('<')) done.add(tag);
    }
    if (!repeat) return tags;
  }
}
