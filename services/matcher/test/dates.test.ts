import { afterEach, describe, expect, it } from 'vitest';
import { createUnicodeTables, DateDetector, defaultTemplates, templatesFor } from '../src/filter/index.js';

const tables = createUnicodeTables();
const ctx = { tables, year: 2026 };
const defaults = defaultTemplates(ctx);
const iso = (t: number | undefined): string | undefined => (t === undefined ? undefined : new Date(t).toISOString());

function detectUtc(line: string, now: number): { text: string; time: string | undefined } | undefined {
  const d = new DateDetector(defaults, { defaultOffset: 0 });
  const hit = d.detect(line, now, 'test');
  return hit && { text: line.slice(hit.start, hit.end), time: iso(hit.time) };
}

const NOW = Date.UTC(2026, 2, 1, 12);

describe('default date templates (fail2ban datedetector defaults)', () => {
  const cases: Array<[string, string, string]> = [
    ['Mar  1 10:00:00 host sshd[1]: x', 'Mar  1 10:00:00', '2026-03-01T10:00:00.000Z'],
    ['Sun Jan 23 21:59:59.011 2005 x', 'Sun Jan 23 21:59:59.011 2005', '2005-01-23T21:59:59.000Z'],
    ['Sun Jan 23 2005 21:59:59.011 x', 'Sun Jan 23 2005 21:59:59.011', '2005-01-23T21:59:59.000Z'],
    ['2026-03-01T10:00:00.123456+02:00 x', '2026-03-01T10:00:00.123456+02:00', '2026-03-01T08:00:00.000Z'],
    ['2026-03-01 10:00:00 x', '2026-03-01 10:00:00', '2026-03-01T10:00:00.000Z'],
    ['2026/03/01 10:00:00Z x', '2026/03/01 10:00:00Z', '2026-03-01T10:00:00.000Z'],
    ['192.0.2.1 - - [01/Mar/2026:10:00:00 -0500] "GET / HTTP/1.1"', '01/Mar/2026:10:00:00 -0500', '2026-03-01T15:00:00.000Z'],
    ['23/01/2005 21:59:59 x', '23/01/2005 21:59:59', '2005-01-23T21:59:59.000Z'],
    ['05/20/2008:01:57:39 cpanel', '05/20/2008:01:57:39', '2008-05-20T01:57:39.000Z'],
    ['01-27-2012 16:22:44.252 x', '01-27-2012 16:22:44.252', '2012-01-27T16:22:44.000Z'],
    ['1772359200 x', '1772359200', '2026-03-01T10:00:00.000Z'],
    ['[1772359200.250] nsd', '1772359200.250', '2026-03-01T10:00:00.250Z'],
    ['type=USER_AUTH msg=audit(1772359200.100:42): x', '1772359200.100', '2026-03-01T10:00:00.100Z'],
    ['@4000000069a40e2000000000 qmail', '@4000000069a40e2000000000', '2026-03-01T10:00:00.000Z'],
    ['130322 11:46:11 mysql', '130322 11:46:11', '2013-03-22T11:46:11.000Z'],
    ['Jan 23, 2005 9:59:59 PM tomcat', 'Jan 23, 2005 9:59:59 PM', '2005-01-23T21:59:59.000Z'],
    ['20050123T215959 x', '20050123T215959', '2005-01-23T21:59:59.000Z'],
    ['PDT Apr 16 21:05:29 monit', 'PDT Apr 16 21:05:29', '2026-04-17T04:05:29.000Z'],
  ];
  for (const [line, text, time] of cases) {
    it(line, () => {
      const now = line.startsWith('PDT') ? Date.UTC(2026, 3, 20) : NOW;
      expect(detectUtc(line, now)).toEqual({ text, time });
    });
  }

  it('finds no date where there is none, and not inside words', () => {
    expect(detectUtc('no date here', NOW)).toBeUndefined();
    expect(detectUtc('x12026-03-01 10:00:00', NOW)).toBeUndefined();
  });
});

describe('year inference without a year in the stamp', () => {
  it('a Dec 31 line read on Jan 1 belongs to the previous year', () => {
    expect(detectUtc('Dec 31 23:59:59 h x', Date.UTC(2027, 0, 1, 0, 5))?.time).toBe('2026-12-31T23:59:59.000Z');
  });
  it('a line up to a day ahead keeps the current year (clock skew), further ahead is last year', () => {
    expect(detectUtc('Mar  2 11:00:00 h x', NOW)?.time).toBe('2026-03-02T11:00:00.000Z');
    expect(detectUtc('Mar  5 11:00:00 h x', NOW)?.time).toBe('2025-03-05T11:00:00.000Z');
  });
  it('time-only stamps are today, or yesterday when later than now', () => {
    const d = new DateDetector(templatesFor('{^LN-BEG}%H:%M:%S', ctx), { defaultOffset: 0 });
    expect(iso(d.detect('11:00:00 x', NOW, 's')?.time)).toBe('2026-03-01T11:00:00.000Z');
    expect(iso(d.detect('13:00:00 x', NOW, 's')?.time)).toBe('2026-02-28T13:00:00.000Z');
  });
});

describe('time zones', () => {
  const savedTz = process.env['TZ'];
  afterEach(() => {
    if (savedTz === undefined) delete process.env['TZ'];
    else process.env['TZ'] = savedTz;
  });
  it('stamps without a zone are local time (TZ) by default', () => {
    process.env['TZ'] = 'America/New_York';
    const d = new DateDetector(defaults);
    expect(iso(d.detect('Mar  1 10:00:00 h x', NOW, 's')?.time)).toBe('2026-03-01T15:00:00.000Z');
    process.env['TZ'] = 'Asia/Tokyo';
    expect(iso(new DateDetector(defaults).detect('Mar  1 10:00:00 h x', NOW, 's')?.time)).toBe('2026-03-01T01:00:00.000Z');
  });
  it('logtimezone overrides TZ, an explicit zone in the line overrides both', () => {
    process.env['TZ'] = 'America/New_York';
    const d = new DateDetector(defaults, { defaultOffset: 60 });
    expect(iso(d.detect('Mar  1 10:00:00 h x', NOW, 's')?.time)).toBe('2026-03-01T09:00:00.000Z');
    expect(iso(d.detect('2026-03-01 10:00:00 +0300 x', NOW, 's2')?.time)).toBe('2026-03-01T07:00:00.000Z');
  });
});

describe('datepattern', () => {
  it('custom %-formats with a back-referenced separator', () => {
    const d = new DateDetector(templatesFor('^%ExY(?P<_sep>[-/.])%m(?P=_sep)%d[T ]%H:%M:%S', ctx), { defaultOffset: 0 });
    expect(iso(d.detect('2026.03.01 10:00:00 x', NOW, 's')?.time)).toBe('2026-03-01T10:00:00.000Z');
    expect(d.detect('2026.03-01 10:00:00 x', NOW, 's')).toBeUndefined();
  });
  it('{NONE} takes the current time and cuts nothing', () => {
    const d = new DateDetector(templatesFor('{NONE}', ctx));
    expect(d.detect('x 2026-01-01 00:00:00', NOW, 's')).toEqual({ start: 0, end: 0, time: NOW });
  });
  it('{DATE} places the default templates inside a prefix (rfc5424)', () => {
    const d = new DateDetector(templatesFor('^<\\d+>\\d+\\s+{DATE}', ctx), { defaultOffset: 0 });
    const line = '<34>1 2026-03-01T10:00:00Z host sshd 1 - - x';
    const hit = d.detect(line, NOW, 's');
    expect(iso(hit?.time)).toBe('2026-03-01T10:00:00.000Z');
  });
  it('remembers the template per source', () => {
    const d = new DateDetector(defaults, { defaultOffset: 0 });
    d.detect('1772359200 x', NOW, 'a');
    expect(iso(d.detect('1772359260 y', NOW, 'a')?.time)).toBe('2026-03-01T10:01:00.000Z');
    expect(iso(d.detect('Mar  1 10:00:00 h', NOW, 'a')?.time)).toBe('2026-03-01T10:00:00.000Z');
  });
});
