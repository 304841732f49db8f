import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';

const run = promisify(execFile);
const DRIVER = fileURLToPath(new URL('./driver.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

export const SERVER_V4 = '192.0.2.1';
export const SERVER_V6 = '2001:db8::1';
/** The attacker namespace holds several addresses so each test can use fresh ones. */
export const ATTACKERS_V4 = ['192.0.2.2', '192.0.2.3', '192.0.2.4', '192.0.2.5', '192.0.2.6', '192.0.2.7'] as const;
export const ATTACKERS_V6 = ['2001:db8::2', '2001:db8::3', '2001:db8::4', '2001:db8::5', '2001:db8::6', '2001:db8::7'] as const;

async function ip(...args: string[]): Promise<void> {
  await run('ip', args);
}

/** A driver process inside a namespace; `call` sends one request and waits for its answer. */
export class Agent {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private stderr = '';
  private exited: string | undefined;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      const msg = JSON.parse(line) as { id: number; ok: boolean; result?: unknown; error?: string; code?: string };
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.ok) p.resolve(msg.result);
      else p.reject(Object.assign(new Error(msg.error), { code: msg.code }));
    });
    child.stderr.on('data', (b: Buffer) => (this.stderr += b.toString()));
    child.on('exit', (code, signal) => {
      this.exited = `driver exited (${code ?? signal}): ${this.stderr}`;
      for (const p of this.pending.values()) p.reject(new Error(this.exited));
      this.pending.clear();
    });
  }

  static start(ns: string): Agent {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '--conditions=source', '--import', 'tsx', DRIVER], {
      cwd: REPO_ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    return new Agent(child);
  }

  call<T = unknown>(op: string, args: Record<string, unknown> = {}, timeoutMs = 30_000): Promise<T> {
    const id = this.nextId++;
    if (this.exited) return Promise.reject(new Error(this.exited));
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`driver did not answer ${op} within ${timeoutMs} ms; stderr: ${this.stderr}`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (v) => (clearTimeout(timer), resolve(v as T)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.child.stdin.write(`${JSON.stringify({ id, op, args })}\n`);
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

/**
 * Two namespaces joined by a veth pair created inside them (the host namespace is never touched):
 * server 192.0.2.1 / 2001:db8::1, attacker 192.0.2.2-7 / 2001:db8::2-7.
 */
export class NetnsPair {
  readonly server: string;
  readonly attacker: string;
  private created: string[] = [];

  constructor() {
    const tag = randomBytes(4).toString('hex');
    this.server = `pct${tag}s`;
    this.attacker = `pct${tag}a`;
  }

  async create(): Promise<void> {
    for (const ns of [this.server, this.attacker]) {
      await ip('netns', 'add', ns);
      this.created.push(ns);
      await ip('-n', ns, 'link', 'set', 'lo', 'up');
    }
    await ip('-n', this.server, 'link', 'add', 'veth0', 'type', 'veth', 'peer', 'name', 'veth0', 'netns', this.attacker);
    for (const [ns, v4s, v6s] of [
      [this.server, [SERVER_V4], [SERVER_V6]],
      [this.attacker, ATTACKERS_V4, ATTACKERS_V6],
    ] as const) {
      for (const v4 of v4s) await ip('-n', ns, 'addr', 'add', `${v4}/24`, 'dev', 'veth0');
      for (const v6 of v6s) await ip('-n', ns, '-6', 'addr', 'add', `${v6}/64`, 'dev', 'veth0', 'nodad');
      await ip('-n', ns, 'link', 'set', 'veth0', 'up');
    }
  }

  async destroy(): Promise<void> {
    const errors: unknown[] = [];
    for (const ns of this.created.splice(0)) {
      try {
        await ip('netns', 'del', ns);
      } catch (e) {
        errors.push(e);
      }
    }
    if (errors.length) throw new AggregateError(errors, 'could not delete test namespaces');
  }
}

/** One namespace with only loopback, for tests that need nftables but no traffic. */
export async function withNetns<T>(fn: (ns: string) => Promise<T>): Promise<T> {
  const ns = `pct${randomBytes(4).toString('hex')}n`;
  await ip('netns', 'add', ns);
  try {
    return await fn(ns);
  } finally {
    await ip('netns', 'del', ns);
  }
}
