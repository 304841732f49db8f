import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const AGENT_SCRIPT = fileURLToPath(new URL('./netns-agent.mjs', import.meta.url));
const START_TIMEOUT_MS = 10_000;

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/** The test side of netns-agent.mjs: one Node process living inside a namespace, driven over stdin/stdout. */
export class NetnsAgent {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private stderr = '';
  private readonly exited: Promise<void>;
  private alive = true;

  private constructor(
    private readonly netns: string,
    private readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => child.once('close', () => resolve()));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (this.stderr = (this.stderr + d).slice(-4000)));
    void this.exited.then(() => {
      this.alive = false;
      this.failAll(new Error(`netns agent in ${netns} exited${this.stderr ? `: ${this.stderr.trim()}` : ''}`));
    });
  }

  static async start(netns: string): Promise<NetnsAgent> {
    // Own process group so dispose can kill it with everything else the namespace runs.
    const child = spawn('ip', ['netns', 'exec', netns, process.execPath, AGENT_SCRIPT], {
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    const agent = new NetnsAgent(netns, child);
    const lines = createInterface({ input: child.stdout! });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`netns agent in ${netns} did not start within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
      child.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      void agent.exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`netns agent in ${netns} exited during start-up: ${agent.stderr.trim()}`));
      });
      lines.once('line', (line) => {
        clearTimeout(timer);
        if (line.includes('"ready"')) resolve();
        else reject(new Error(`netns agent in ${netns} said ${line}`));
      });
    }).catch(async (e: unknown) => {
      agent.killSync();
      await agent.exited;
      throw e;
    });
    lines.on('line', (line) => agent.onLine(line));
    return agent;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Sends one request; `timeoutMs` bounds the whole round trip. */
  request<T>(op: string, params: Record<string, unknown>, timeoutMs: number): Promise<T> {
    if (!this.alive) return Promise.reject(new Error(`netns agent in ${this.netns} is not running`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`netns agent in ${this.netns} did not answer ${op} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.child.stdin?.write(`${JSON.stringify({ ...params, id, op })}\n`);
    });
  }

  /** SIGKILL to the agent's process group; safe to call from a process 'exit' handler. */
  killSync(): void {
    const pid = this.child.pid;
    if (pid === undefined || !this.alive) return;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }

  async kill(): Promise<void> {
    this.killSync();
    await this.exited;
  }

  private onLine(line: string): void {
    let message: { id?: number; ok?: boolean; result?: unknown; error?: string };
    try {
      message = JSON.parse(line) as typeof message;
    } catch {
      return;
    }
    const pending = message.id === undefined ? undefined : this.pending.get(message.id);
    if (!pending || message.id === undefined) return;
    this.pending.delete(message.id);
    clearTimeout(pending.timer);
    if (message.ok) pending.resolve(message.result);
    else pending.reject(new Error(message.error ?? 'netns agent request failed'));
  }

  private failAll(error: Error): void {
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      pending.reject(error);
      this.pending.delete(id);
    }
  }
}
