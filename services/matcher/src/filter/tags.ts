/**
 * fail2ban's pattern tags (<HOST>, <ADDR>, <F-USER>...</F-USER>, <SKIPLINES>, ...), substituted as
 * text before the pattern is parsed, exactly as fail2ban's Regex._resolveHostTag does, so that stock
 * filters mean the same here. The sub-patterns are fail2ban's own (1.0.x); the IPv6 one contains a
 * one-character look-behind that the translator resolves exactly.
 */
export const IP4_RE = String.raw`(?:\d{1,3}\.){3}\d{1,3}`;
export const IP6_RE = String.raw`(?:[0-9a-fA-F]{1,4}::?|::){1,7}(?:[0-9a-fA-F]{1,4}|(?<=:):)`;

const R_IP4 = String.raw`(?:::f{4,6}:)?(?P<ip4>${IP4_RE})`;
const R_IP6 = String.raw`(?P<ip6>${IP6_RE})`;
const R_DNS = String.raw`(?P<dns>[\w\-.^_]*\w)`;
const R_ADDR = String.raw`\[?(?:${R_IP4}|${R_IP6})\]?`;
const R_HOST = String.raw`(?:${R_ADDR}|${R_DNS})`;
const R_CIDR = String.raw`(?P<cidr>\d+)`;
const R_SUBNET = String.raw`\[?(?:${R_IP4}|${R_IP6})(?:/${R_CIDR})?\]?`;

const STATIC_TAGS: Record<string, string> = {
  IP4: R_IP4,
  'F-IP4/': R_IP4,
  IP6: R_IP6,
  'F-IP6/': R_IP6,
  ADDR: R_ADDR,
  'F-ADDR/': R_ADDR,
  CIDR: R_CIDR,
  'F-CIDR/': R_CIDR,
  SUBNET: R_SUBNET,
  'F-SUBNET/': R_SUBNET,
  DNS: R_DNS,
  'F-DNS/': R_DNS,
  'F-ID/': String.raw`(?P<fid>\S+)`,
  'F-PORT/': String.raw`(?P<fport>\w+)`,
};

const TAG_MAP: Record<string, string> = { id: 'fid', port: 'fport' };

export function tagGroupName(tag: string): string {
  const t = tag.toLowerCase();
  return TAG_MAP[t] ?? t;
}

export interface TagOptions {
  /** fail2ban's usedns: "no" makes <HOST> match addresses only. */
  useDns?: string;
}

export interface TagResult {
  pattern: string;
  /** Number of <SKIPLINES> tags (each needs one more buffered line). */
  skipLines: number;
}

export function resolveTags(regex: string, opts: TagOptions = {}): TagResult {
  const open = new Set<string>();
  let nl = 0;
  const pattern = regex.replace(/<\/?[\w-]+\/?>/g, (tag) => {
    const tn = tag.slice(1, -1);
    if (tn === 'HOST') return opts.useDns === 'no' ? R_ADDR : R_HOST;
    if (tn === 'SKIPLINES') {
      const s = String.raw`\n(?P<skiplines${nl}>(?:(?:.*\n)*?))`;
      nl++;
      return s;
    }
    const fixed = STATIC_TAGS[tn];
    if (fixed !== undefined) return fixed;
    const m = /^(\/?)F-([A-Z0-9_-]+)$/.exec(tn);
    if (!m) return tag;
    const name = m[2] as string;
    if (m[1]) return open.has(name) ? ')' : tag;
    open.add(name);
    return `(?P<${tagGroupName(name)}>`;
  });
  return { pattern, skipLines: nl };
}

/** fail2ban turns `((?i)x)` / `(?:(?i)x)` into `(?i:x)` before compiling (R_GLOB2LOCFLAGS). */
export function globalToLocalFlags(regex: string): string {
  return regex.replace(/(?<!\\)\((?:\?:)?(\(\?[a-z]+)\)/g, '$1:');
}
