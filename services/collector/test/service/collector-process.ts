import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const COLLECTOR_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const MAIN = join(COLLECTOR_DIR, 'src', 'main.ts');

export interface JailSpec {
  name: string;
  logpath: string;
  fromStart?: boolean;
  /** Default: sshd's built-in filter. */
  filter?: string;
}

export interface CollectorConfig {
  natsUrl: string;
  host: string;
  jails: JailSpec[];
  logLevel?: string;
}

/**
 * Writes a configuration directory for the collector alone: the config loader wants redis_url too
 * (only to resolve endpoints); the collector never connects to it, so any syntactically valid URL
 * will do.
 */
export function writeCollectorConfig(configDir: string, c: CollectorConfig): void {
  mkdirSync(configDir, { recursive: true });
  const jails = c.jails
    .map((j) => `[${j.name}]\nenabled = true\nfilter = ${j.filter ?? 'sshd'}\nlogpath = ${j.logpath}\nfromstart = ${j.fromStart ? 'true' : 'false'}\n`)
    .join('\n');
  writeFileSync(join(configDir, 'jail.local'), jails);
  writeFileSync(
    join(configDir, 'portcullis.local'),
    `[portcullis]\nhost = ${c.host}\nnats_url = ${c.natsUrl}\nredis_url = redis://127.0.0.1:1\nlog_level = ${c.logLevel ?? 'info'}\n`,
  );
}

/** `node src/main.ts` of the collector as a real process, its JSON log appended to a file. */
export class CollectorProcess {
  readonly child: ChildProcess;
  readonly logFile: string;
  readonly #exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  private constructor(child: ChildProcess, logFile: string) {
    this.child = child;
    this.logFile = logFile;
    this.#exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
  }

  /** Starts the process and resolves once it logged "collector started" (its sources are reading). */
  static async start(configDir: string, stateDir: string, logFile: string, opts: { timeoutMs?: number; nodeArgs?: string[] } = {}): Promise<CollectorProcess> {
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const mark = readText(logFile).length;
    const out = createWriteStream(logFile, { flags: 'a' });
    const args = [...(opts.nodeArgs ?? []), '--conditions=source', '--import', 'tsx', MAIN, '--config', configDir, '--state', stateDir];
    const child = spawn(process.execPath, args, {
      cwd: COLLECTOR_DIR,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.pipe(out);
    child.stderr?.pipe(out);
    const p = new CollectorProcess(child, logFile);
    const deadline = Date.now() + timeoutMs;
    while (!readText(logFile).slice(mark).includes('"collector started"')) {
      if (!p.alive) throw new Error(`collector exited before it started:\n${readText(logFile).slice(mark)}`);
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`collector did not start within ${timeoutMs} ms:\n${readText(logFile).slice(mark)}`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    return p;
  }

  get pid(): number {
    return this.child.pid as number;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  get exited(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return this.#exited;
  }

  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    if (!this.alive) return;
    this.child.kill(signal);
    await this.#exited;
  }

  /** Resident set and its high-water mark, in bytes, from /proc/PID/status. */
  memory(): { rss: number; hwm: number } {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  }

  /** CPU time (user + system) the process used so far, in seconds. */
  cpuSeconds(): number {
    return cpuSecondsOf(this.pid);
  }

  logText(): string {
    return readText(this.logFile);
  }
}

/** utime + stime of a process from /proc/PID/stat, in seconds. */
export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may contain spaces.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
