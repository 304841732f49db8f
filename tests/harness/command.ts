import { spawn, type ChildProcess } from 'node:child_process';

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  /** Written to stdin, e.g. an nft ruleset for `nft -f -`. */
  input?: string;
  /** Reject on a non-zero exit (default true). */
  check?: boolean;
  /** Kill the command and reject after this long (default 30 s). */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

/** Runs a command to completion, capturing output; rejects with the command line and stderr when it fails. */
export function execCommand(cmd: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const shown = [cmd, ...args].join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], ...(opts.env ? { env: opts.env } : {}) });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${shown} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${shown}: ${e.message}`, { cause: e }));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const result = { code: code ?? 128, stdout, stderr };
      if (opts.check !== false && code !== 0) {
        reject(new Error(`${shown} failed (${signal ?? `exit ${code}`}): ${stderr.trim() || stdout.trim()}`));
      } else {
        resolve(result);
      }
    });
    child.stdin.on('error', () => undefined); // a command that ignores stdin may close it early
    child.stdin.end(opts.input ?? '');
  });
}

/** SIGKILL to a child's whole process group (it must have been spawned detached); resolves when it has exited. */
export async function killGroup(child: ChildProcess, timeoutMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  killGroupSync(child);
  await Promise.race([exited, new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref())]);
}

export function killGroupSync(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}

/**
 * Runs `hook` synchronously when the process exits; returns its remover. Raises the listener limit
 * for each hook so many live namespaces or servers do not trigger a leak warning.
 */
export function onProcessExit(hook: () => void): () => void {
  process.setMaxListeners(process.getMaxListeners() + 1);
  process.on('exit', hook);
  let removed = false;
  return () => {
    if (removed) return;
    removed = true;
    process.removeListener('exit', hook);
    process.setMaxListeners(Math.max(10, process.getMaxListeners() - 1));
  };
}
