import { spawnSync } from 'node:child_process';

/**
 * Runs Debian's fail2ban-regex on a log file and reads its summary line:
 * "Lines: N lines, I ignored, M matched, X missed [processed in S sec]".
 * --no-check-all: stop at the first matching failregex, as the fail2ban server does (fail2ban-regex
 * otherwise tries every failregex on every line, which is slower than production).
 */
export interface Fail2banResult {
  lines: number;
  ignored: number;
  matched: number;
  missed: number;
  /** fail2ban's own timing of the matching loop (no interpreter start, no filter load). */
  processedSec: number;
  wallSec: number;
}

export const FAIL2BAN_REGEX = '/usr/bin/fail2ban-regex';

export function runFail2banRegex(logFile: string, filter: string, extraArgs: readonly string[] = []): Fail2banResult {
  const t0 = performance.now();
  const r = spawnSync(FAIL2BAN_REGEX, ['--no-check-all', ...extraArgs, logFile, filter], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const wallSec = (performance.now() - t0) / 1000;
  const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  const m = /Lines: (\d+) lines, (\d+) ignored, (\d+) matched, (\d+) missed\s*\n?\s*\[processed in ([\d.]+) sec\]/.exec(out);
  if (r.status !== 0 || !m) throw new Error(`fail2ban-regex ${logFile} ${filter} failed (status ${r.status}):\n${out.slice(-2000)}`);
  return { lines: Number(m[1]), ignored: Number(m[2]), matched: Number(m[3]), missed: Number(m[4]), processedSec: Number(m[5]), wallSec };
}
