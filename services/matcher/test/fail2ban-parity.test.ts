import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { syslogStamp } from '../bench/gen/interleave.js';
import { Rng } from '../bench/gen/rng.js';
import { sshdLog } from '../bench/gen/sshd-log.js';
import { FilterCompileCache, loadFilter, type CompiledFilter } from '../src/filter/index.js';

/**
 * fail2ban itself is the reference: the same lines through fail2ban-regex (Debian's fail2ban,
 * --no-check-all -o id: the server's first-match order, one failure id per failure) and through
 * our filter must give the same failures in the same order. This covers <F-MLFID> sessions
 * (nofail lines turned into failures by their session, forget, gained) and the maxlines buffer
 * with <SKIPLINES>.
 */
const dir = mkdtempSync(path.join(tmpdir(), 'pct-parity-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const cache = new FilterCompileCache();
const NOW = Date.UTC(2026, 3, 1);

function fail2banIds(log: string, filter: string): string[] {
  const r = spawnSync('/usr/bin/fail2ban-regex', ['--no-check-all', '-o', 'id', log, filter], { encoding: 'utf8', maxBuffer: 32 * 1024 * 1024 });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.split('\n').filter((l) => l !== '');
}

function ourIds(filter: CompiledFilter, lines: readonly string[]): string[] {
  const out: string[] = [];
  for (const l of lines) {
    const r = filter.match(l, { now: NOW, source: 'parity' });
    expect(r.kind).not.toBe('error');
    if (r.kind === 'failure') out.push(r.id);
  }
  return out;
}

describe('same failures as fail2ban-regex', () => {
  it('stock sshd on a generated auth.log (sessions merged by pid)', () => {
    const g = sshdLog(99, Date.UTC(2026, 2, 1));
    const lines = Array.from({ length: 4000 }, () => g.next().value.text);
    const log = path.join(dir, 'auth.log');
    writeFileSync(log, `${lines.join('\n')}\n`);
    const ours = ourIds(loadFilter({ configDir: '/etc/fail2ban', name: 'sshd', cache, now: NOW }), lines);
    expect(ours.length).toBeGreaterThan(100);
    expect(ours).toEqual(fail2banIds(log, '/etc/fail2ban/filter.d/sshd.conf'));
  });

  it('a maxlines filter with <SKIPLINES> and a session id', () => {
    const conf = path.join(dir, 'conf');
    mkdirSync(path.join(conf, 'filter.d'), { recursive: true });
    const filterFile = path.join(conf, 'filter.d', 'ml.conf');
    writeFileSync(
      filterFile,
      [
        '[Definition]',
        'failregex = ^ \\S+ app\\[(?P<pid>[1-4])\\]: login user=<F-USER>\\S+</F-USER>$<SKIPLINES>^ \\S+ app\\[(?P=pid)\\]: denied from <HOST>$',
        '            ^ \\S+ app\\[\\d+\\]: blocked <HOST>$',
        'maxlines = 4',
        '',
      ].join('\n'),
    );
    const rng = new Rng(5);
    const lines: string[] = [];
    let t = Date.UTC(2026, 2, 1);
    for (let i = 0; i < 3000; i++) {
      t += rng.int(0, 3000);
      const pid = rng.int(1, 4);
      const kind = rng.int(0, 9);
      const msg =
        kind < 3 ? `login user=${rng.pick(['ann', 'ben', 'cy'])}` : kind < 6 ? `denied from 192.0.2.${rng.int(1, 40)}` : kind === 6 ? `blocked 198.51.100.${rng.int(1, 9)}` : `noise ${rng.token(5)}`;
      lines.push(`${syslogStamp(t)} h app[${pid}]: ${msg}`);
    }
    const log = path.join(dir, 'ml.log');
    writeFileSync(log, `${lines.join('\n')}\n`);
    const ours = ourIds(loadFilter({ configDir: conf, name: 'ml', cache, now: NOW }), lines);
    expect(ours.length).toBeGreaterThan(100);
    expect(ours).toEqual(fail2banIds(log, filterFile));
  });
});
