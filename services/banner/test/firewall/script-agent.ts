import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import type { Netns } from '../../../../tests/harness/index.js';

const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/**
 * A line-protocol driver script (like driver.ts) running inside a namespace: `call` sends
 * `{id, op, args}` and waits for `{id, ok, result | error, code}`. The namespace's dispose() kills
 * it if the test did not stop it.
 */
export class ScriptAgent {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private stderr = '';
  private exited: string | undefined;

  private constructor(private readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const msg = JSON.parse(line) as { id: number; ok: boolean; result?: unknown; error?: string; code?: string };
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.ok) p.resolve(msg.result);
      else p.reject(Object.assign(new Error(msg.error), { code: msg.code }));
    });
    child.stderr!.on('data', (b: Buffer) => (this.stderr += b.toString()));
    child.on('exit', (code, signal) => {
      this.exited = `driver exited (${code ?? signal}): ${this.stderr}`;
      for (const p of this.pending.values()) p.reject(new Error(this.exited));
      this.pending.clear();
    });
  }

  /** `script` is a URL (e.g. `new URL('./iptables-driver.ts', import.meta.url)`). */
  static start(netns: Netns, script: URL): ScriptAgent {
    const path = fileURLToPath(script);
    return new ScriptAgent(netns.spawn(process.execPath, ['--conditions=source', '--import', 'tsx', path], { cwd: REPO_ROOT }));
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
      this.child.stdin!.write(`${JSON.stringify({ id, op, args })}\n`);
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.stdin!.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

/** The request loop a driver script runs: one JSON request per line in, one JSON answer per line out, in order. */
export function serveRequests(handle: (op: string, args: Record<string, unknown>) => Promise<unknown>, onClose: () => Promise<void> | void): void {
  void import('node:readline').then(({ createInterface: lines }) => {
    let chain: Promise<void> = Promise.resolve();
    const rl = lines({ input: process.stdin });
    rl.on('line', (line) => {
      const req = JSON.parse(line) as { id: number; op: string; args?: Record<string, unknown> };
      chain = chain.then(async () => {
        let reply: Record<string, unknown>;
        try {
          reply = { id: req.id, ok: true, result: (await handle(req.op, req.args ?? {})) ?? null };
        } catch (e) {
          const err = e as { message?: string; code?: string };
          reply = { id: req.id, ok: false, error: err.code ? `${err.code}: ${err.message}` : String(err.message ?? e), code: err.code };
        }
        process.stdout.write(`${JSON.stringify(reply)}\n`);
      });
    });
    rl.on('close', () => {
      void chain.then(async () => {
        await onClose();
        process.exit(0);
      });
    });
  });
}
