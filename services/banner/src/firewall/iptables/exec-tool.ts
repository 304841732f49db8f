import { spawn } from 'node:child_process';
import { PortcullisError } from '@portcullis/shared';

export interface ToolResult {
  stdout: string;
  stderr: string;
}

const MAX_ERROR_TEXT = 2000;

/**
 * Runs one of the firewall tools (no shell), feeding `input` on stdin: iptables-restore and
 * `ipset restore` read their batch from it, whatever kind of descriptor it is (Node hands children
 * a socket pair). A non-zero exit is PC_FIREWALL with the tool's own message; a missing binary is
 * PC_FIREWALL_UNAVAILABLE.
 */
export function runTool(cmd: string, args: readonly string[], input?: string, timeoutMs = 60_000): Promise<ToolResult> {
  const shown = [cmd, ...args].join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const code = e.code === 'ENOENT' ? 'PC_FIREWALL_UNAVAILABLE' : 'PC_FIREWALL';
      reject(new PortcullisError(code, `cannot run ${cmd}: ${e.message}${e.code === 'ENOENT' ? ' (install iptables and ipset)' : ''}`, { cause: e }));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (code === 0) return resolve({ stdout, stderr });
      const why = timedOut ? `did not finish within ${timeoutMs} ms` : signal ? `was killed by ${signal}` : `exited with ${code}`;
      const text = (stderr.trim() || stdout.trim()).slice(0, MAX_ERROR_TEXT);
      reject(new PortcullisError('PC_FIREWALL', `${shown} ${why}${text ? `: ${text}` : ''}`));
    });
    // A tool that fails early closes stdin; the exit code then tells what happened.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
  });
}
