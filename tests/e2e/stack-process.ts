import type { ChildProcess } from 'node:child_process';
import { appendFileSync, createWriteStream, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Netns } from '../harness/index.js';

export const CLI = resolve(import.meta.dirname, '../../packages/cli/dist/bin.js');

/** `portcullis up` running inside a namespace, with its JSON log captured to a file. */
export class StackProcess {
  child: ChildProcess | undefined;
  constructor(
    readonly ns: Netns,
    readonly configDir: string,
    readonly stateDir: string,
    readonly logFile: string,
  ) {}

  async start(timeoutMs = 60_000): Promise<void> {
    const mark = this.logText().length;
    const out = createWriteStream(this.logFile, { flags: 'a' });
    this.child = this.ns.spawn('node', [CLI, 'up', '--config', this.configDir, '--state', this.stateDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.pipe(out);
    this.child.stderr!.pipe(out);
    await waitFor(() => this.logText().slice(mark).includes('portcullis is up'), timeoutMs, () => `stack did not come up:\n${this.logText().slice(mark)}`);
  }

  /** SIGTERM (graceful) or SIGKILL (crash), and wait for the exit. */
  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill(signal);
    await exited;
    appendFileSync(this.logFile, `--- stack stopped with ${signal} ---\n`);
  }

  get alive(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  logText(): string {
    try {
      return readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  /** Runs a `portcullis` command against this stack, inside the namespace. */
  cli(args: string[]) {
    return this.ns.exec('node', [CLI, ...args, '--config', this.configDir, '--state', this.stateDir], { check: false });
  }
}

export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: () => string): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (await cond()) return Date.now() - start;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms: ${what()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A syslog-style sshd failure line stamped with the local time now, as sshd writes it. */
export function sshdFailure(ip: string, user = 'admin', at = new Date()): string {
  const mon = at.toLocaleString('en-US', { month: 'short' });
  const day = String(at.getDate()).padStart(2, ' ');
  const time = [at.getHours(), at.getMinutes(), at.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
  return `${mon} ${day} ${time} srv sshd[4242]: Failed password for invalid user ${user} from ${ip} port 51234 ssh2\n`;
}
