/**
 * strptime-style `%` directives as fail2ban defines them (strptime.py: Python's TimeRE in the C
 * locale, with fail2ban's overrides and its `%Ex..` exact variants), as Python-regex text that the
 * filter translator turns into RE2.
 */
const TZ_ABBR_RE = '[A-Z](?:[A-Z]{2,4})?';

/** fail2ban's %ExY: years of the current century range around `year` (and since 2000). */
export function exactYearRe(year: number): string {
  const cents = new Set<string>();
  const cent = (y: number): string => String(y).slice(0, 3);
  cents.add(cent(year - 1));
  cents.add(cent(year + 3));
  for (let y = 2000; y <= year; y += 3) cents.add(cent(y));
  const sorted = [...cents].sort();
  const prefix = commonPrefix(sorted);
  const rest = sorted.map((c) => c.slice(prefix.length));
  const alt = rest.length === 1 ? (rest[0] as string) : rest.every((r) => r.length === 1) ? `[${rest.join('')}]` : `(?:${rest.join('|')})`;
  return `(?P<Y>${prefix}${alt}\\d)`;
}

function commonPrefix(xs: string[]): string {
  let p = xs[0] ?? '';
  for (const x of xs) while (!x.startsWith(p)) p = p.slice(0, -1);
  return p;
}

export function timeRe(year: number): Record<string, string> {
  return {
    a: '(?P<a>mon|tue|wed|thu|fri|sat|sun)',
    A: '(?P<A>wednesday|thursday|saturday|tuesday|monday|friday|sunday)',
    b: '(?P<b>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)',
    B: '(?P<B>september|february|november|december|january|october|august|march|april|june|july|may)',
    p: '(?P<p>am|pm)',
    I: '(?P<I>1[0-2]|0[1-9]|[1-9])',
    j: '(?P<j>36[0-6]|3[0-5]\\d|[1-2]\\d\\d|0[1-9]\\d|00[1-9]|[1-9]\\d|0[1-9]|[1-9])',
    y: '(?P<y>\\d\\d)',
    f: '(?P<f>[0-9]{1,6})',
    U: '(?P<U>5[0-3]|[0-4]\\d|\\d)',
    W: '(?P<W>5[0-3]|[0-4]\\d|\\d)',
    w: '(?P<w>[0-6])',
    k: ' ?(?P<H>[0-2]?\\d)',
    l: ' ?(?P<I>1?\\d)',
    Z: '(?P<Z>Z|[A-Z]{3,5})',
    z: '(?P<z>Z|UTC|GMT|[+-][01]\\d(?::?\\d{2})?)',
    ExZ: `(?P<Z>${TZ_ABBR_RE})`,
    Exz: `(?P<z>(?:${TZ_ABBR_RE})?[+-][01]\\d(?::?\\d{2})?|${TZ_ABBR_RE})`,
    d: '(?P<d>[1-2]\\d|[0 ]?[1-9]|3[0-1])',
    m: '(?P<m>0?[1-9]|1[0-2])',
    Y: '(?P<Y>\\d{4})',
    H: '(?P<H>[0-1]?\\d|2[0-3])',
    M: '(?P<M>[0-5]?\\d)',
    S: '(?P<S>[0-5]?\\d|6[0-1])',
    Exd: '(?P<d>[1-2]\\d|0[1-9]|3[0-1])',
    Exm: '(?P<m>0[1-9]|1[0-2])',
    ExH: '(?P<H>[0-1]\\d|2[0-3])',
    Exk: ' ?(?P<H>[0-1]?\\d|2[0-3])',
    Exl: ' ?(?P<I>1[0-2]|\\d)',
    ExM: '(?P<M>[0-5]\\d)',
    ExS: '(?P<S>[0-5]\\d|6[0-1])',
    ExY: exactYearRe(year),
    Exy: '(?P<y>\\d{2})',
  };
}

/** Replace `%X` directives; `%%` is a literal percent. Unknown directives are an error. */
export function expandDirectives(pattern: string, re: Record<string, string>): { regex: string; alpha: boolean } {
  let alpha = false;
  const regex = pattern.replace(/%(%|Ex[A-Za-z]|[A-Za-z])/g, (whole, key: string) => {
    if (key === '%') return '%';
    const r = re[key];
    if (r === undefined) throw new Error(`unknown date directive %${key}`);
    if ('aAbBpc'.includes(key)) alpha = true;
    return r;
  });
  return { regex, alpha };
}
