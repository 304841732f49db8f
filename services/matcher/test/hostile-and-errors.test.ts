import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isPortcullisError } from '@portcullis/shared';
import { createUnicodeTables, loadFilter, MAX_LINE_LENGTH } from '../src/filter/index.js';

const tables = createUnicodeTables();
const now = Date.UTC(2026, 2, 1, 12);
const sshd = loadFilter({ name: 'sshd', options: { mode: 'aggressive' }, jailOptions: { logtimezone: 'UTC' }, tables, now });
const ctx = { now, source: 'hostile' };

function timed<T>(f: () => T): { value: T; ms: number } {
  const t0 = performance.now();
  const value = f();
  return { value, ms: performance.now() - t0 };
}

describe('hostile lines return promptly and never throw', () => {
  it('a 1 MB line is cut to MAX_LINE_LENGTH and counted', () => {
    const before = sshd.stats.truncated;
    const line = `Mar  1 10:00:00 h sshd[1]: Failed password for ${'a'.repeat(1024 * 1024)} from 192.0.2.5 port 1 ssh2`;
    const r = timed(() => sshd.match(line, ctx));
    expect(r.value.kind).toBe('nomatch');
    expect(sshd.stats.truncated).toBe(before + 1);
    expect(r.ms).toBeLessThan(500);
  });
  it('a failure inside the first MAX_LINE_LENGTH characters is still found on a long line', () => {
    const line = `Mar  1 10:00:00 h sshd[1]: Failed password for root from 192.0.2.5 port 1 ssh2${' '.repeat(MAX_LINE_LENGTH)}`;
    const r = sshd.match(line, ctx);
    expect(r.kind === 'failure' && r.id).toBe('192.0.2.5');
  });
  it('invalid UTF-8 decoded as U+FFFD and NUL bytes are just characters', () => {
    const bytes = Buffer.concat([Buffer.from('Mar  1 10:00:00 h sshd[1]: Failed password for r'), Buffer.from([0xff, 0xfe, 0x00, 0xc3]), Buffer.from('t from 192.0.2.9 port 1 ssh2')]);
    const line = new TextDecoder('utf-8').decode(bytes);
    expect(line).toContain('\uFFFD');
    const r = sshd.match(line, ctx);
    expect(r.kind === 'failure' && r.id).toBe('192.0.2.9');
    expect(r.kind === 'failure' && r.user).toBe('r\uFFFD\uFFFD\u0000\uFFFDt');
    expect(sshd.match('\u0000'.repeat(100_000), ctx).kind).toBe('nomatch');
  });
  it('thousands of addresses on one line: the last one (sshd wrote it) is taken, fast', () => {
    const junk = Array.from({ length: 3000 }, (_, i) => `from 192.0.${Math.floor(i / 250)}.${i % 250}`).join(' ');
    const line = `Mar  1 10:00:00 h sshd[1]: Invalid user ${junk} from 198.51.100.7 port 22`;
    const r = timed(() => sshd.match(line, ctx));
    expect(r.value.kind).toBe('nomatch');
    const short = `Mar  1 10:00:00 h sshd[1]: Invalid user ${junk.slice(0, 4000)} from 198.51.100.7 port 22`;
    const r2 = timed(() => sshd.match(short, ctx));
    expect(r2.value.kind === 'failure' && r2.value.id).toBe('198.51.100.7');
    expect(r.ms + r2.ms).toBeLessThan(500);
  });
});

describe('loader errors name the filter, the pattern and the construct', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'pc-filter-'));
  mkdirSync(path.join(dir, 'filter.d'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('unknown filter: PC_FILTER_NOT_FOUND with the places looked', () => {
    try {
      loadFilter({ configDir: dir, name: 'nosuch', tables });
      expect.unreachable();
    } catch (e) {
      expect(isPortcullisError(e, 'PC_FILTER_NOT_FOUND')).toBe(true);
      expect((e as Error).message).toContain('"nosuch"');
      expect((e as Error).message).toContain(path.join(dir, 'filter.d'));
      expect((e as Error).message).toContain('services/matcher/filters');
    }
  });

  it('a back-reference RE2 cannot run: PC_FILTER_INVALID with file:line, pattern and construct', () => {
    writeFileSync(path.join(dir, 'filter.d', 'bad.conf'), '[Definition]\n\nfailregex = ^ok <HOST>$\n            ^(?P<n>\\d+) again (?P=n) <HOST>$\n');
    try {
      loadFilter({ configDir: dir, name: 'bad', tables });
      expect.unreachable();
    } catch (e) {
      expect(isPortcullisError(e, 'PC_FILTER_INVALID')).toBe(true);
      const msg = (e as Error).message;
      expect(msg).toContain('filter "bad"');
      expect(msg).toContain('(?P=n)');
      expect(msg).toContain('back-reference');
      expect(msg).toContain(`${path.join(dir, 'filter.d', 'bad.conf')}:3`);
    }
  });

  it('a syntax error is PC_FILTER_INVALID too', () => {
    writeFileSync(path.join(dir, 'filter.d', 'syntax.conf'), '[Definition]\nfailregex = ^broken (<HOST>$\n');
    expect(() => loadFilter({ configDir: dir, name: 'syntax', tables })).toThrow(/filter "syntax".*unterminated subpattern/);
  });

  it('a local filter.d file wins over the built-in one and [Init]/arguments override', () => {
    writeFileSync(path.join(dir, 'filter.d', 'sshd.conf'), '[Init]\nword = denied\n[Definition]\nfailregex = ^<word> <HOST>$\n');
    const f = loadFilter({ configDir: dir, name: 'sshd', tables, jailOptions: { datepattern: '{NONE}' } });
    expect(f.files).toEqual([path.join(dir, 'filter.d', 'sshd.conf')]);
    expect(f.match('denied 192.0.2.1', ctx).kind).toBe('failure');
    const g = loadFilter({ configDir: dir, name: 'sshd', options: { word: 'refused' }, tables, jailOptions: { datepattern: '{NONE}' } });
    expect(g.match('denied 192.0.2.1', ctx).kind).toBe('nomatch');
    expect(g.match('refused 192.0.2.1', ctx).kind).toBe('failure');
  });

  it('a \\b the translation can only judge for ASCII refuses lines with non-ASCII letters instead of guessing', () => {
    writeFileSync(path.join(dir, 'filter.d', 'bot.conf'), '[Definition]\nfailregex = ^<HOST> "[^"]*\\bGooglebot\ndatepattern = {NONE}\n');
    const f = loadFilter({ configDir: dir, name: 'bot', tables });
    expect(f.match('192.0.2.1 "x Googlebot/2.1"', ctx).kind).toBe('failure');
    expect(f.match('192.0.2.1 "xGooglebot/2.1"', ctx).kind).toBe('nomatch');
    expect(f.match('192.0.2.1 "éGooglebot/2.1"', ctx).kind).toBe('error');
  });

  it('ignoreregex vetoes a failregex match', () => {
    writeFileSync(path.join(dir, 'filter.d', 'ign.conf'), '[Definition]\nfailregex = ^fail <HOST>\nignoreregex = trusted$\ndatepattern = {NONE}\n');
    const f = loadFilter({ configDir: dir, name: 'ign', tables });
    expect(f.match('fail 192.0.2.1', ctx).kind).toBe('failure');
    expect(f.match('fail 192.0.2.1 trusted', ctx).kind).toBe('ignored');
  });
});
