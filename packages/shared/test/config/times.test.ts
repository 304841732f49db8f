import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../src/config/times.js';
import { thrown } from './temp-tree.js';

const MINUTE = 60;
const HOUR = 3600;
const DAY = 86400;
const YEAR = 365.25 * DAY;

describe('parseDuration', () => {
  // Expected values were checked against fail2ban 1.0.2's MyTime.str2seconds.
  it.each<[string, number]>([
    ['600', 600],
    ['-1', -1],
    [' 90 ', 90],
    ['30s', 30],
    ['10m', 10 * MINUTE],
    ['1h', HOUR],
    ['1H', HOUR],
    ['1d', DAY],
    ['1w', 7 * DAY],
    ['1mo', YEAR / 12],
    ['1mon', YEAR / 12],
    ['6 months', YEAR / 2],
    ['1y', YEAR],
    ['1yy', YEAR],
    ['1h 30m', HOUR + 30 * MINUTE],
    ['0d 1h 30m', HOUR + 30 * MINUTE],
    ['1d12h', 1.5 * DAY],
    ['1.5h', 1.5 * HOUR],
    ['1hour+30min', HOUR + 30 * MINUTE],
    ['1year-6mo', YEAR / 2],
    ['2 days', 2 * DAY],
    ['1 minute 1 second', 61],
    ['3min', 3 * MINUTE],
    ['5 mm', 5 * MINUTE],
    ['1wee', 7 * DAY],
    ['(1+1)*1h', 2 * HOUR],
    ['-1h', -HOUR],
  ])('%s is %d seconds', (text, seconds) => {
    expect(parseDuration(text)).toBeCloseTo(seconds, 6);
  });

  it.each(['', '   ', 'abc', '10 minutes ago', '1ms', '1 2 3', '1e3', '10m;', '(1h', '1h)', '1/0'])(
    'rejects %j with PC_CONFIG_INVALID at the given location',
    (text) => {
      const e = thrown(() => parseDuration(text, { file: '/etc/fail2ban/jail.local', line: 9 }, 'bantime'));
      expect(e.code).toBe('PC_CONFIG_INVALID');
      expect(e.location).toEqual({ file: '/etc/fail2ban/jail.local', line: 9 });
      expect(e.message).toContain(`/etc/fail2ban/jail.local:9: bantime ${JSON.stringify(text)} is invalid`);
      expect(e.message).toMatch(/1h 30m/);
    },
  );
});
