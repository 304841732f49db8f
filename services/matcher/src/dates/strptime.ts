/**
 * Date fields -> epoch ms, following fail2ban's strptime.reGroupDictStrptime: a missing year is the
 * current one (or last year when that would put the date more than a day in the future), a missing
 * day is today (or yesterday), explicit zones win over the default zone, otherwise local time.
 * Like fail2ban, fractions of a second are not part of the result.
 */
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const FULL_MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];

const TZ_STR = `-12 Y
-11 X NUT SST
-10 W CKT HAST HST TAHT TKT
-9 V AKST GAMT GIT HADT HNY
-8 U AKDT CIST HAY HNP PST PT
-7 T HAP HNR MST PDT
-6 S CST EAST GALT HAR HNC MDT
-5 R CDT COT EASST ECT EST ET HAC HNE PET
-4 Q AST BOT CLT COST EDT FKT GYT HAE HNA PYT
-3 P ADT ART BRT CLST FKST GFT HAA PMST PYST SRT UYT WGT
-2 O BRST FNT PMDT UYST WGST
-1 N AZOT CVT EGT
0 Z EGST GMT UTC WET WT
1 A CET DFT WAT WEDT WEST
2 B CAT CEDT CEST EET SAST WAST
3 C EAT EEDT EEST IDT MSK
4 D AMT AZT GET GST KUYT MSD MUT RET SAMT SCT
5 E AMST AQTT AZST HMT MAWT MVT PKT TFT TJT TMT UZT YEKT
6 F ALMT BIOT BTT IOT KGT NOVT OMST YEKST
7 G CXT DAVT HOVT ICT KRAT NOVST OMSST THA WIB
8 H ACT AWST BDT BNT CAST HKT IRKT KRAST MYT PHT SGT ULAT WITA WST
9 I AWDT IRKST JST KST PWT TLT WDT WIT YAKT
10 K AEST ChST PGT VLAT YAKST YAPT
11 L AEDT LHDT MAGT NCT PONT SBT VLAST VUT
12 M ANAST ANAT FJT GILT MAGST MHT NZST PETST PETT TVT WFT
13 FJST NZDT
11.5 NFT
10.5 ACDT LHST
9.5 ACST
6.5 CCT MMT
5.75 NPT
5.5 SLT
4.5 AFT IRDT
3.5 IRST
-2.5 HAT NDT
-3.5 HNT NST NT
-4.5 HLV VET
-9.5 MART MIT`;

const TZ_ABBR_OFFSETS: ReadonlyMap<string, number> = new Map(
  TZ_STR.split('\n').flatMap((line) => {
    const [off, ...names] = line.trim().split(/\s+/);
    return names.map((n) => [n, Math.trunc(Number(off) * 60)] as [string, number]);
  }),
);

/** Zone text -> minutes east of UTC (fail2ban's zone2offset / validateTimeZone), or undefined. */
export function zoneOffsetMinutes(tz: string): number | undefined {
  if (tz === 'Z' || tz === 'UTC' || tz === 'GMT') return 0;
  const m = /^([A-Z](?:[A-Z]{2,4})?)?([+-][01]\d(?::?\d{2})?)?$/.exec(tz);
  if (!m) return undefined;
  const abbr = m[1] ?? '';
  const base = abbr === '' ? 0 : TZ_ABBR_OFFSETS.get(abbr);
  if (base === undefined) return undefined;
  const off = m[2];
  if (!off) return base;
  const sign = off.startsWith('-') ? -1 : 1;
  if (off.length <= 3) return base + Number(off) * 60;
  const hh = Number(off.slice(1, 3));
  const mm = Number(off[3] === ':' ? off.slice(4, 6) : off.slice(3, 5));
  return base + sign * (hh * 60 + mm);
}

/** Value of a Unicode decimal digit (Python's int() accepts any Nd digit). */
function digitsToNumber(s: string): number {
  let v = 0;
  // ASCII digits (nearly every stamp) without the code point iteration.
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return unicodeDigitsToNumber(s);
    v = v * 10 + (c - 0x30);
  }
  return v;
}

function unicodeDigitsToNumber(s: string): number {
  let v = 0;
  for (const ch of s) {
    const cp = ch.codePointAt(0) as number;
    let d = cp >= 0x30 && cp <= 0x39 ? cp - 0x30 : -1;
    if (d < 0) {
      // Unicode Nd digits come in runs of ten starting at a code point whose value is 0.
      let start = cp;
      while (/\p{Nd}/u.test(String.fromCodePoint(start - 1))) start--;
      d = (cp - start) % 10;
    }
    v = v * 10 + d;
  }
  return v;
}

export interface DateContext {
  now: number;
  /** Minutes east of UTC for stamps without a zone (logtimezone); undefined: local time. */
  defaultOffset?: number;
}

export function fieldsToEpochMs(f: Readonly<Record<string, string>>, ctx: DateContext): number | undefined {
  let year: number | undefined;
  let month: number | undefined;
  let day: number | undefined;
  let hour = 0;
  let minute = 0;
  let second = 0;
  let julian: number | undefined;
  let tzoffset: number | undefined;
  const num = (k: string): number | undefined => (f[k] === undefined ? undefined : digitsToNumber(f[k] as string));
  if (f['y'] !== undefined) {
    year = num('y') as number;
    if (year <= 2000) year += 2000;
  }
  if (f['Y'] !== undefined) year = num('Y');
  if (f['m'] !== undefined) month = num('m');
  if (f['b'] !== undefined) month = MONTHS.indexOf((f['b'] as string).toLowerCase()) + 1;
  if (f['B'] !== undefined) month = FULL_MONTHS.indexOf((f['B'] as string).toLowerCase()) + 1;
  if (f['d'] !== undefined) day = digitsToNumber((f['d'] as string).trim());
  if (f['H'] !== undefined) hour = num('H') as number;
  if (f['I'] !== undefined) {
    hour = num('I') as number;
    const ampm = (f['p'] ?? '').toLowerCase();
    if (ampm === '' || ampm === 'am') {
      if (hour === 12) hour = 0;
    } else if (ampm === 'pm' && hour !== 12) hour += 12;
  }
  if (f['M'] !== undefined) minute = num('M') as number;
  if (f['S'] !== undefined) second = num('S') as number;
  if (f['j'] !== undefined) julian = num('j');
  for (const v of [f['z'], f['Z']]) {
    if (v === undefined) continue;
    const off = zoneOffsetMinutes(v);
    if (off === undefined) return undefined;
    tzoffset = off;
  }
  if (tzoffset === undefined) tzoffset = ctx.defaultOffset;

  const nowParts = partsAt(ctx.now, tzoffset);
  const assumeYear = year === undefined;
  if (year === undefined) year = nowParts.year;
  if ((month === undefined || day === undefined) && julian !== undefined) {
    const d = new Date(Date.UTC(year, 0, 1) + (julian - 1) * 86_400_000);
    year = d.getUTCFullYear();
    month = d.getUTCMonth() + 1;
    day = d.getUTCDate();
  }
  const assumeToday = month === undefined && day === undefined;
  if (assumeToday) {
    month = nowParts.month;
    day = nowParts.day;
  }
  if (month === undefined || day === undefined || month < 1 || month > 12 || day < 1 || day > 31) return undefined;
  if (hour > 23 || minute > 59 || second > 61) return undefined;
  let t = toEpoch(year, month, day, hour, minute, second, tzoffset);
  if (t === undefined) return undefined;
  if (assumeToday && t > ctx.now) t -= 86_400_000;
  if (assumeYear && t > ctx.now + 86_400_000) t = toEpoch(year - 1, month, day, hour, minute, second, tzoffset);
  return t;
}

function toEpoch(y: number, mo: number, d: number, h: number, mi: number, s: number, tzoffset: number | undefined): number | undefined {
  // Python's datetime rejects invalid days (Feb 30) and seconds 60/61 the same way.
  if (s > 59) return undefined;
  if (d > daysInMonth(y, mo)) return undefined;
  if (tzoffset !== undefined) return Date.UTC(y, mo - 1, d, h, mi, s) - tzoffset * 60_000;
  return new Date(y, mo - 1, d, h, mi, s).getTime();
}

function daysInMonth(y: number, mo: number): number {
  if (mo === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return mo === 4 || mo === 6 || mo === 9 || mo === 11 ? 30 : 31;
}

interface DayParts {
  year: number;
  month: number;
  day: number;
}

/**
 * The last answer of partsAt for a fixed zone: "now" is the same for a whole batch. (Local time
 * is not remembered: TZ may change while the process runs.)
 */
let lastParts: { now: number; tzoffset: number; parts: DayParts } | undefined;

function partsAt(now: number, tzoffset: number | undefined): DayParts {
  if (tzoffset === undefined) {
    const d = new Date(now);
    return { year: d.getFullYear(), month: d.getMonth() + 1, day: d.getDate() };
  }
  if (lastParts !== undefined && lastParts.now === now && lastParts.tzoffset === tzoffset) return lastParts.parts;
  const d = new Date(now + tzoffset * 60_000);
  const parts = { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
  lastParts = { now, tzoffset, parts };
  return parts;
}
