import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir, open, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { PortcullisError } from '../errors.js';
import { findExecutable } from './executable.js';
import { findFreePort } from './free-port.js';

/** A server process this process started and owns; it dies with this process. */
export interface LocalServer {
  /** Binary name, e.g. "nats-server". */
  readonly name: string;
  /** Client URL, e.g. nats://127.0.0.1:4222 or redis://127.0.0.1:6379. */
  readonly url: string;
  /** The address the server binds. */
  readonly host: string;
  readonly port: number;
  /** Pid of the current process (changes on restart). */
  readonly pid: number;
  /** Where the server keeps its data (JetStream store or Redis dir). */
  readonly dataDir: string;
  readonly running: boolean;
  /** SIGTERM, wait, SIGKILL after 5 s. Resolves once the process has exited. */
  stop(): Promise<void>;
  /** SIGKILL (a crash); resolves once the process has exited. */
  kill(): Promise<void>;
  /** Stops the server if it runs, starts it again on the same port and data dir, waits until ready. */
  restart(): Promise<void>;
}

export interface ProbeTarget {
  host: string;
  port: number;
  pid: number;
  timeoutMs: number;
}

/** How to run and probe one kind of server; see nats-server.ts and redis-server.ts. */
export interface ServerSpec {
  name: string;
  binary: string;
  /** Address to bind; "0.0.0.0" / "::" are probed and advertised as loopback. */
  host: string;
  /** Undefined picks a free port, retrying if another process takes it first. */
  port: number | undefined;
  dataDir: string;
  args(port: number): string[];
  url(host: string, port: number): string;
  /** Resolves once the server serves clients; must reject if the peer is not the process with `pid`. */
  probe(target: ProbeTarget): Promise<void>;
  /** A log file the server writes instead of stderr; its tail goes into startup errors. */
  logFile?: string;
  readyTimeoutMs?: number;
  log?: (msg: string) => void;
}

const DEFAULT_READY_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 5_000;
const PORT_ATTEMPTS = 4;
const OUTPUT_TAIL_CHARS = 16_000;
const ERROR_TAIL_CHARS = 2_000;
const ERROR_TAIL_LINES = 12;

export async function startLocalServer(spec: ServerSpec): Promise<LocalServer> {
  if (spec.port !== undefined && !(Number.isInteger(spec.port) && spec.port >= 1 && spec.port <= 65535)) {
    throw new PortcullisError('PC_LOCAL_SERVER', `${spec.name}: invalid port ${spec.port} (expected an integer from 1 to 65535)`);
  }
  try {
    await mkdir(spec.dataDir, { recursive: true });
  } catch (cause) {
    throw new PortcullisError(
      'PC_LOCAL_SERVER',
      `${spec.name}: cannot create data directory ${spec.dataDir}: ${(cause as Error).message}`,
      { cause },
    );
  }
  const pdeathsig = await pdeathsigWrapper();
  for (let attempt = 1; ; attempt++) {
    const port = spec.port ?? (await findFreePort(spec.host));
    const server = new ManagedServer(spec, port, pdeathsig);
    try {
      await server.launch();
      return server;
    } catch (e) {
      const retry = spec.port === undefined && attempt < PORT_ATTEMPTS && /address already in use/i.test(String((e as Error).message));
      if (!retry) throw e;
      spec.log?.(`${spec.name}: port ${port} was taken before the server bound it; trying another`);
    }
  }
}

/** One spawned process: its exit and its recent output. */
class Run {
  alive = true;
  ready = false;
  stopRequested = false;
  output = '';
  readonly exited: Promise<void>;
  readonly spawnFailed: Promise<Error>;

  constructor(
    readonly child: ChildProcess,
    readonly logOffset: number,
  ) {
    this.spawnFailed = new Promise<Error>((resolve) => child.once('error', resolve));
    this.exited = new Promise<void>((resolve) => {
      const done = (): void => {
        this.alive = false;
        resolve();
      };
      // 'close' fires after the pipes are drained, so `output` is complete by then.
      child.once('close', done);
      child.once('error', done);
    });
    for (const stream of [child.stdout, child.stderr]) {
      stream?.setEncoding('utf8').on('data', (chunk: string) => {
        this.output += chunk;
        if (this.output.length > OUTPUT_TAIL_CHARS * 2) this.output = this.output.slice(-OUTPUT_TAIL_CHARS);
      });
    }
  }

  describeExit(): string {
    const { exitCode, signalCode } = this.child;
    if (signalCode) return `was killed by ${signalCode}`;
    return exitCode === null ? 'could not be started' : `exited with code ${exitCode}`;
  }
}

class ManagedServer implements LocalServer {
  readonly name: string;
  readonly host: string;
  readonly url: string;
  readonly dataDir: string;
  private run: Run | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly onParentExit = (): void => {
    // Synchronous by necessity: nothing asynchronous runs after 'exit'.
    const pid = this.run?.alive ? this.run.child.pid : undefined;
    if (pid === undefined) return;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };

  constructor(
    private readonly spec: ServerSpec,
    readonly port: number,
    private readonly pdeathsig: string[],
  ) {
    this.name = spec.name;
    this.host = spec.host;
    this.dataDir = spec.dataDir;
    this.url = spec.url(connectHost(spec.host), port);
  }

  get pid(): number {
    return this.run?.child.pid ?? -1;
  }

  get running(): boolean {
    return this.run?.alive ?? false;
  }

  stop(): Promise<void> {
    return this.serialize(() => this.terminate());
  }

  kill(): Promise<void> {
    return this.serialize(async () => {
      const run = this.run;
      if (!run?.alive) return;
      run.stopRequested = true;
      run.child.kill('SIGKILL');
      await run.exited;
    });
  }

  restart(): Promise<void> {
    return this.serialize(async () => {
      await this.terminate();
      await this.launch();
    });
  }

  /** Spawns the process and waits until it is ready; on failure the process is gone and the error says why. */
  async launch(): Promise<void> {
    const [cmd, ...args] = [...this.pdeathsig, this.spec.binary, ...this.spec.args(this.port)] as [string, ...string[]];
    const logOffset = this.spec.logFile ? await fileSize(this.spec.logFile) : 0;
    // Own process group: a terminal Ctrl-C reaches the CLI, which stops services before their servers.
    const run = new Run(spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true }), logOffset);
    this.run = run;
    const removeExitHook = onProcessExit(this.onParentExit);
    void run.exited.then(() => {
      removeExitHook();
      if (!run.ready) return;
      const pid = run.child.pid;
      this.spec.log?.(run.stopRequested ? `${this.name} (pid ${pid}) stopped` : `${this.name} (pid ${pid}) ${run.describeExit()} unexpectedly`);
    });

    const abort = new AbortController();
    const failure = await Promise.race([
      run.spawnFailed.then((e) => this.startError(run, `cannot start ${this.spec.binary}: ${e.message}`, e)),
      this.waitReady(run, abort.signal),
    ]);
    abort.abort();
    if (failure) {
      if (run.alive) run.child.kill('SIGKILL');
      await run.exited;
      throw failure;
    }
    run.ready = true;
    this.spec.log?.(`${this.name} (pid ${run.child.pid}) ready on ${this.url}`);
  }

  /** Resolves undefined when ready, or the error to throw. */
  private async waitReady(run: Run, signal: AbortSignal): Promise<PortcullisError | undefined> {
    const timeoutMs = this.spec.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
    const deadline = Date.now() + timeoutMs;
    let lastProbeError: unknown;
    let delay = 20;
    while (Date.now() < deadline && !signal.aborted) {
      if (!run.alive) return this.exitError(run);
      try {
        const probe = this.spec.probe({
          host: connectHost(this.host),
          port: this.port,
          pid: run.child.pid ?? -1,
          timeoutMs: Math.max(100, Math.min(1000, deadline - Date.now())),
        });
        probe.catch(() => undefined); // may settle after the process exit below won the race
        // A process that dies mid-probe (e.g. port taken) is reported at once, not after the probe times out.
        const exitedFirst = await Promise.race([probe.then(() => false), run.exited.then(() => true)]);
        if (!exitedFirst && run.alive) return undefined;
      } catch (e) {
        lastProbeError = e;
      }
      await sleep(delay);
      delay = Math.min(delay * 2, 200);
    }
    if (!run.alive) return this.exitError(run);
    const why = lastProbeError instanceof Error ? ` (last probe: ${lastProbeError.message})` : '';
    return this.startError(run, `${this.name} did not become ready on ${this.url} within ${timeoutMs} ms${why}`, lastProbeError);
  }

  private async exitError(run: Run): Promise<PortcullisError> {
    await run.exited;
    return this.startError(run, `${this.name} ${run.describeExit()} before becoming ready on ${this.url}`);
  }

  private async startError(run: Run, message: string, cause?: unknown): Promise<PortcullisError> {
    const logTail = this.spec.logFile ? await readTail(this.spec.logFile, run.logOffset, ERROR_TAIL_CHARS) : '';
    const shown = lastLines(`${run.output}\n${logTail}`.trim(), ERROR_TAIL_LINES, ERROR_TAIL_CHARS);
    const detail = shown ? `; its output ends with:\n${shown}` : '';
    return new PortcullisError('PC_LOCAL_SERVER', `${message}${detail}`, cause === undefined ? {} : { cause });
  }

  private async terminate(): Promise<void> {
    const run = this.run;
    if (!run?.alive) return;
    run.stopRequested = true;
    run.child.kill('SIGTERM');
    const graceful = await Promise.race([run.exited.then(() => true), sleep(STOP_GRACE_MS, false, { ref: false })]);
    if (!graceful) {
      this.spec.log?.(`${this.name} (pid ${run.child.pid}) ignored SIGTERM for ${STOP_GRACE_MS} ms; sending SIGKILL`);
      run.child.kill('SIGKILL');
      await run.exited;
    }
  }

  private serialize<T>(op: () => Promise<T>): Promise<T> {
    const next = this.queue.then(op, op);
    this.queue = next.catch(() => undefined);
    return next;
  }
}

/** Adds a process 'exit' listener, raising the listener limit so many servers do not look like a leak. */
function onProcessExit(hook: () => void): () => void {
  process.setMaxListeners(process.getMaxListeners() + 1);
  process.on('exit', hook);
  return () => {
    process.removeListener('exit', hook);
    process.setMaxListeners(Math.max(10, process.getMaxListeners() - 1));
  };
}

/** The address clients use to reach a server bound to `host`. */
export function connectHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::' || host === '[::]') return '::1';
  return host;
}

/** Formats scheme://host:port, bracketing IPv6 literals. */
export function formatUrl(scheme: string, host: string, port: number): string {
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `${scheme}://${h}:${port}`;
}

/**
 * `setpriv --pdeathsig KILL --` when available: the kernel then kills the server even if this process
 * dies by SIGKILL, where no 'exit' handler runs. Falls back to nothing on systems without it.
 */
async function pdeathsigWrapper(): Promise<string[]> {
  const setpriv = await findExecutable('setpriv');
  if (setpriv === undefined) return [];
  const check = spawnSync(setpriv, ['--pdeathsig', 'KILL', '--', 'true'], { stdio: 'ignore', timeout: 2000 });
  return check.status === 0 ? [setpriv, '--pdeathsig', 'KILL', '--'] : [];
}

function lastLines(text: string, maxLines: number, maxChars: number): string {
  const lines = text.split('\n');
  let shown = lines.slice(-maxLines).join('\n');
  if (shown.length > maxChars) shown = shown.slice(-maxChars);
  return shown.length < text.length ? `...\n${shown}` : shown;
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

/** Up to `maxChars` from the end of `path`, never before `from` (what earlier runs wrote). */
async function readTail(path: string, from: number, maxChars: number): Promise<string> {
  try {
    const handle = await open(path, 'r');
    try {
      const { size } = await handle.stat();
      const start = Math.max(size < from ? 0 : from, size - maxChars);
      const length = size - start;
      const buffer = Buffer.alloc(length);
      await handle.read(buffer, 0, length, start);
      return buffer.toString('utf8');
    } finally {
      await handle.close();
    }
  } catch {
    return '';
  }
}
