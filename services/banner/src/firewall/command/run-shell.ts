import { spawn } from 'node:child_process';

export interface ShellResult {
  /** Exit code, or null when killed by a signal or never started. */
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** Set when /bin/sh could not be started. */
  spawnError?: string;
  ms: number;
}

/** Output kept per stream; a chatty command cannot fill the banner's memory. */
const MAX_OUTPUT = 64 * 1024;
/** After SIGTERM, how long a timed-out command's process group gets before SIGKILL (fail2ban waits too). */
const KILL_GRACE_MS = 1000;
/** A background process that kept our pipes open must not hold the answer back after the shell exited. */
const DRAIN_MS = 500;

/**
 * Runs `/bin/sh -c script` with `env` as its whole environment, in a process group of its own so
 * a timeout kills everything it started (SIGTERM, then SIGKILL), as fail2ban's executeCmd does.
 * stdin is /dev/null.
 */
export function runShell(script: string, env: Record<string, string>, timeoutMs: number, shell = '/bin/sh'): Promise<ShellResult> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn(shell, ['-c', script], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const out = capture();
    const err = capture();
    child.stdout.on('data', out.add);
    child.stderr.on('data', err.add);
    let timedOut = false;
    let exit: { code: number | null; signal: string | null } | undefined;
    let settled = false;
    const timers: NodeJS.Timeout[] = [];
    const finish = (spawnError?: string): void => {
      if (settled) return;
      settled = true;
      for (const t of timers) clearTimeout(t);
      child.stdout.destroy();
      child.stderr.destroy();
      const result: ShellResult = {
        code: exit?.code ?? null,
        signal: exit?.signal ?? null,
        stdout: out.text(),
        stderr: err.text(),
        timedOut,
        ms: performance.now() - t0,
      };
      if (spawnError !== undefined) result.spawnError = spawnError;
      resolve(result);
    };
    const killGroup = (signal: NodeJS.Signals): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, signal);
      } catch {
        // the group is gone already
      }
    };
    timers.push(
      setTimeout(() => {
        timedOut = true;
        killGroup('SIGTERM');
        timers.push(setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS));
      }, timeoutMs),
    );
    child.once('error', (e) => finish(e.message));
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      // Whatever the shell left behind in its group goes with it.
      if (timedOut) killGroup('SIGKILL');
      timers.push(setTimeout(() => finish(), DRAIN_MS));
    });
    child.once('close', () => finish());
  });
}

function capture(): { add: (b: Buffer) => void; text: () => string } {
  const chunks: Buffer[] = [];
  let size = 0;
  let cut = false;
  return {
    add: (b) => {
      if (size >= MAX_OUTPUT) {
        cut = true;
        return;
      }
      chunks.push(b);
      size += b.length;
    },
    text: () => {
      const s = Buffer.concat(chunks).subarray(0, MAX_OUTPUT).toString('utf8');
      return cut || size > MAX_OUTPUT ? `${s}\n[output cut at ${MAX_OUTPUT} bytes]` : s;
    },
  };
}
