import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * `portcullis regex` run as users run it: the built CLI (`pnpm build` first) in a child process,
 * against log files written here and Portcullis' built-in filters.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const BIN = path.join(ROOT, 'packages/cli/dist/bin.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, 'regex', '--config', path.join(dir, 'no-config-dir'), ...args],
      { env: { ...process.env, TZ: 'UTC', ...env }, timeout: 60_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const jsonRows = (out: string): Array<Record<string, unknown>> =>
  out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

let dir: string;
const file = (name: string, text: string): string => {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
};

const SSHD_LOG = [
  'Mar  1 10:00:00 web1 sshd[4242]: Failed password for root from 192.0.2.5 port 50122 ssh2',
  'Mar  1 10:00:01 web1 sshd[4243]: Failed password for invalid user admin from 192.0.2.6 port 50123 ssh2',
  'Mar  1 10:00:02 web1 sshd[4244]: Invalid user oracle from 2001:db8::7 port 22',
  'Mar  1 10:00:03 web1 sshd[4245]: Failed password for invalid user guest from 192.0.2.8 port 50124 ssh2',
  'Mar  1 10:00:04 web1 sshd[4246]: Accepted password for bob from 192.0.2.9 port 50125 ssh2',
  'Mar  1 10:00:05 web1 cron[4247]: (root) CMD (run-parts /etc/cron.hourly)',
].join('\n');

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'pct-regex-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('portcullis regex', () => {
  it('prints fail2ban-regex summary counts, per-pattern hits and date template hits', async () => {
    const log = file('auth.log', `${SSHD_LOG}\n`);
    const r = await cli([log, 'sshd', 'invalid user guest']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Lines: 6 lines, 1 ignored, 3 matched, 2 missed');
    // Two "Failed ..." lines hit the first "Failed" pattern, one the "Invalid user" pattern.
    expect(r.stdout).toMatch(/Failregex: 3 total\n\|- {2}#\) \[# of hits\] regular expression\n\| {3}5\) \[2\] \^Failed /);
    expect(r.stdout).toMatch(/\| {3}8\) \[1\] \^\[iI\]\(\?:llegal\|nvalid\) user /);
    expect(r.stdout).toMatch(/Ignoreregex: 1 total\n\|- {2}#\) \[# of hits\] regular expression\n\| {3}1\) \[1\] invalid user guest\n/);
    expect(r.stdout).toMatch(/Date template hits:\n\|- \[# of hits\] date format\n\| {2}\[6\] \{\^LN-BEG\}\(\?:%a \)\?%b %d %k:%M:%S/);
    // Few missed/ignored lines are listed without being asked; matched lines only when asked.
    expect(r.stdout).toContain('|- Missed line(s):\n|  Mar  1 10:00:04 web1 sshd[4246]: Accepted password');
    expect(r.stdout).toContain('|- Ignored line(s):\n|  Mar  1 10:00:03');
    expect(r.stdout).not.toContain('Matched line(s)');
  });

  it('lists every matched and missed line with --print-all-matched / --print-all-missed', async () => {
    const missed = Array.from({ length: 25 }, (_, i) => `Mar  1 11:00:${String(i).padStart(2, '0')} web1 sshd[1]: Server listening on :: port 22.`);
    const log = file('many.log', `${SSHD_LOG}\n${missed.join('\n')}\n`);
    const quiet = await cli([log, 'sshd']);
    expect(quiet.stdout).toContain('|- Missed line(s): too many to print.  Use --print-all-missed to print all 27 lines');
    const loud = await cli(['--print-all-matched', '--print-all-missed', log, 'sshd']);
    expect(loud.stdout).toContain('|- Matched line(s):\n|  Mar  1 10:00:00 web1 sshd[4242]: Failed password for root from 192.0.2.5 port 50122 ssh2  -> 192.0.2.5');
    expect(loud.stdout.split('\n').filter((l) => l.includes('Server listening'))).toHaveLength(25);
  });

  it('--json prints one object per line; times follow TZ and --now', async () => {
    const log = file(
      'json.log',
      [
        'Mar  1 10:00:00 web1 sshd[4242]: Failed password for root from 192.0.2.5 port 50122 ssh2',
        'Dec 31 23:59:59 web1 sshd[17]: Failed password for invalid user gina from 192.0.2.25 port 1 ssh2',
        'Mar  1 10:00:04 web1 sshd[4246]: Accepted password for bob from 192.0.2.9 port 50125 ssh2',
        '2026-03-01T10:00:00+02:00 web1 sshd[16]: Invalid user frank from 192.0.2.24 port 1',
      ].join('\n'),
    );
    const now = String(Date.UTC(2026, 2, 1, 12) / 1000);
    const r = await cli(['--json', '--now', now, log, 'sshd'], { TZ: 'Europe/Berlin' });
    expect(r.code).toBe(0);
    const rows = jsonRows(r.stdout);
    expect(rows).toHaveLength(4);
    // 10:00 in Berlin (CET, +01:00) is 09:00 UTC; a December line read in March is last year's.
    expect(rows[0]).toEqual({ line: 1, match: true, host: '192.0.2.5', time: Date.UTC(2026, 2, 1, 9) / 1000, fields: expect.objectContaining({ user: 'root', ip4: '192.0.2.5' }) });
    expect(rows[1]).toMatchObject({ line: 2, match: true, host: '192.0.2.25', time: Date.UTC(2025, 11, 31, 22, 59, 59) / 1000, fields: { user: 'gina' } });
    expect(rows[2]).toEqual({ line: 3, match: false, host: null, time: null, fields: {} });
    // A zone in the time stamp wins over TZ.
    expect(rows[3]).toMatchObject({ line: 4, match: true, host: '192.0.2.24', time: Date.UTC(2026, 2, 1, 8) / 1000 });
    const utc = jsonRows((await cli(['--json', '--now', now, log, 'sshd'], { TZ: 'UTC' })).stdout);
    expect(utc[0]).toMatchObject({ time: Date.UTC(2026, 2, 1, 10) / 1000 });
    // logtimezone overrides TZ, as in fail2ban.
    const tzOpt = jsonRows((await cli(['--json', '--now', now, '--option', 'logtimezone=UTC', log, 'sshd'], { TZ: 'Europe/Berlin' })).stdout);
    expect(tzOpt[0]).toMatchObject({ time: Date.UTC(2026, 2, 1, 10) / 1000 });
  });

  it('--json reports an engine error on its line', async () => {
    const log = file('err.log', 'Mar  1 10:00:00 h app: bad login from 192.0.2.50\nMar  1 10:00:01 h app: bad login from 192.0.2.51 für\n');
    const r = await cli(['--json', log, String.raw`bad login from <HOST>\b`]);
    expect(r.code).toBe(0);
    const rows = jsonRows(r.stdout);
    expect(rows[0]).toMatchObject({ line: 1, match: true, host: '192.0.2.50' });
    expect(rows[1]).toMatchObject({ line: 2, match: false, host: null, time: null });
    expect(String(rows[1]?.['error'])).toMatch(/\\b/);
  });

  it('exits 3 with the reason when the filter cannot be run', async () => {
    const unknown = await cli(['Mar  1 10:00:00 h x: y', 'no-such-filter']);
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toMatch(/filter "no-such-filter" not found/);
    expect(unknown.stdout).toBe('');
    const backref = await cli(['Mar  1 10:00:00 h x: y', String.raw`^(?P<u>\w+) again (?P=u) from <HOST>$`]);
    expect(backref.code).toBe(3);
    expect(backref.stderr).toMatch(/back-reference/);
    const badIgnore = await cli(['Mar  1 10:00:00 h x: y', 'sshd', String.raw`(\w+) \1`]);
    expect(badIgnore.code).toBe(3);
    expect(badIgnore.stderr).toMatch(/ignoreregex .* cannot be used/);
  });

  it('--option mode=aggressive (and name[mode=...]) switches the filter mode', async () => {
    const log = file(
      'mail.log',
      [
        'Feb 21 09:22:00 mx1 postfix/smtpd[14403]: warning: unknown[192.0.2.106]: SASL LOGIN authentication failed: UGFzc3dvcmQ6',
        'Feb 21 09:22:10 mx1 postfix/smtpd[14413]: disconnect from unknown[192.0.2.116] ehlo=1 auth=0/1 rset=1 quit=1 commands=3/4',
        'Feb 21 09:21:55 mx1 postfix/smtpd[14399]: NOQUEUE: reject: RCPT from unknown[192.0.2.101]: 554 5.7.1 <a@example.org>: Relay access denied; from=<b@example.com> to=<a@example.org> proto=SMTP helo=<x>',
        'Feb 21 09:22:06 mx1 postfix/smtpd[14409]: warning: unknown[192.0.2.112]: SASL LOGIN authentication failed: Connection lost to authentication server',
      ].join('\n'),
    );
    const normal = await cli([log, 'postfix']);
    expect(normal.stdout).toContain('Lines: 4 lines, 0 ignored, 1 matched, 3 missed');
    const aggressive = await cli(['--option', 'mode=aggressive', log, 'postfix']);
    expect(aggressive.stdout).toContain('Lines: 4 lines, 1 ignored, 3 matched, 0 missed');
    const bracket = await cli([log, 'postfix[mode=aggressive]']);
    expect(bracket.stdout).toContain('Lines: 4 lines, 1 ignored, 3 matched, 0 missed');
    // The IGNOREREGEX argument adds to the filter's own ignoreregex (fail2ban-regex does the same).
    const added = await cli(['--option', 'mode=aggressive', log, 'postfix', 'RCPT from unknown']);
    expect(added.stdout).toContain('Lines: 4 lines, 2 ignored, 2 matched, 0 missed');
  });

  it('runs a filter file given by path (its common.conf include resolved)', async () => {
    const conf = file(
      'myapp.conf',
      ['[INCLUDES]', 'before = common.conf', '[DEFAULT]', '_daemon = myapp', '[Definition]', 'failregex = ^%(__prefix_line)sdenied <F-USER>\\S+</F-USER> from <ADDR>$', ''].join('\n'),
    );
    const r = await cli(['--json', 'Mar  1 10:00:00 host myapp[12]: denied carol from 198.51.100.4', conf]);
    expect(r.stderr).toBe('');
    expect(jsonRows(r.stdout)).toEqual([{ line: 1, match: true, host: '198.51.100.4', time: expect.any(Number), fields: { user: 'carol', ip4: '198.51.100.4' } }]);
  });

  it('runs a raw regex with <HOST> on a log line', async () => {
    const r = await cli(['2026-03-01 10:00:00 Login failed for x from 203.0.113.9', 'Login failed for .* from <HOST>$']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Lines: 1 lines, 0 ignored, 1 matched, 0 missed');
    expect(r.stdout).toMatch(/\| {3}1\) \[1\] Login failed for \.\* from <HOST>\$/);
    const json = await cli(['--json', '2026-03-01 10:00:00 Login failed for x from 203.0.113.9', 'Login failed for .* from <HOST>$']);
    expect(jsonRows(json.stdout)).toEqual([{ line: 1, match: true, host: '203.0.113.9', time: Date.UTC(2026, 2, 1, 10) / 1000, fields: { ip4: '203.0.113.9' } }]);
  });
});
