import { PortcullisError } from '@portcullis/shared';

/**
 * fail2ban's `<tag>` substitution for action commands (helpers.substituteRecursiveTags and
 * CommandAction.replaceTag), for the values that come from the configuration. Values that come
 * from a ban (the address, log lines, ...) never pass through here: see shell-script.ts.
 */

/** fail2ban's TAG_CRE. */
export const TAG_RE = /<([^ <>]+)>/g;
/** fail2ban's MAX_TAG_REPLACE_COUNT. */
export const MAX_TAG_REPLACE_COUNT = 25;
/** Tags whose values fail2ban never substitutes recursively (they hold log content). */
export const ESCAPED_TAGS: ReadonlySet<string> = new Set(['matches', 'ipmatches', 'ipjailmatches']);
/** fail2ban's CONDITIONAL_RE for keys of `[Init?family=inet6]`-style sections. */
export const CONDITIONAL_KEY_RE = /^(\w+)(\?.+)$/;

export type TagMap = ReadonlyMap<string, string>;

interface TagMatch {
  tag: string;
  start: number;
  end: number;
}

function search(value: string, from: number): TagMatch | undefined {
  const re = new RegExp(TAG_RE.source, 'g');
  re.lastIndex = from;
  const m = re.exec(value);
  return m ? { tag: m[1]!, start: m.index, end: m.index + m[0].length } : undefined;
}

/**
 * Every value with the tags it names replaced by their (conditional, then plain, then `addrepl`)
 * values, repeatedly, as fail2ban's substituteRecursiveTags. Unknown tags stay as they are.
 */
export function substituteRecursiveTags(
  input: TagMap,
  conditional = '',
  ignore: ReadonlySet<string> = new Set(),
  addrepl?: (tag: string) => string | undefined,
): Map<string, string> {
  const tags = new Map(input);
  const done = new Set<string>();
  const repCounts = new Map<string, Map<string, number>>();
  for (;;) {
    let again = false;
    for (const [tag, orgval] of [...tags]) {
      if (ignore.has(tag) || done.has(tag)) continue;
      let value = orgval;
      const counts = repCounts.get(tag) ?? new Map<string, number>();
      let m = search(value, 0);
      while (m) {
        const rtag = m.tag;
        if (ignore.has(rtag)) {
          m = search(value, m.end);
          continue;
        }
        if (rtag === tag || (counts.get(rtag) ?? 1) > MAX_TAG_REPLACE_COUNT) {
          throw new PortcullisError('PC_CONFIG_INTERPOLATION', `<${tag}> refers to itself through <${rtag}> (value ${JSON.stringify(value.slice(0, 200))})`);
        }
        let repl = conditional ? tags.get(`${rtag}?${conditional}`) : undefined;
        repl ??= tags.get(rtag) ?? addrepl?.(rtag);
        if (repl === undefined) {
          m = search(value, m.end);
          continue;
        }
        value = value.split(`<${rtag}>`).join(repl);
        counts.set(rtag, (counts.get(rtag) ?? 0) + 1);
        m = search(value, m.start);
      }
      if (value !== orgval) {
        if (search(value, 0)) {
          repCounts.set(tag, counts);
          again = true;
        }
        tags.set(tag, value);
      }
      if (!value.includes('<')) done.add(tag);
    }
    if (!again) return tags;
  }
}

/**
 * fail2ban's CommandAction.replaceTag: the command's tags replaced from the action's properties
 * (conditional `tag?family=...` values first), then from `extra` (br, sp, host names); tags
 * neither knows stay for the ban-time substitution.
 */
export function replaceStaticTags(query: string, properties: TagMap, conditional: string, extra: TagMap): string {
  if (!query.includes('<')) return query;
  const info = substituteRecursiveTags(properties, conditional, ESCAPED_TAGS);
  let current = query;
  for (let count = MAX_TAG_REPLACE_COUNT + 1; ; ) {
    const next = current.replace(new RegExp(TAG_RE.source, 'g'), (whole, tag: string) => {
      const value = (conditional ? info.get(`${tag}?${conditional}`) : undefined) ?? info.get(tag);
      return value ?? extra.get(tag) ?? whole;
    });
    if (next === current || !next.includes('<')) return next;
    current = next;
    if (--count <= 0) {
      throw new PortcullisError('PC_CONFIG_INTERPOLATION', `tags in ${JSON.stringify(query.slice(0, 200))} keep expanding (a definition refers to itself)`);
    }
  }
}
