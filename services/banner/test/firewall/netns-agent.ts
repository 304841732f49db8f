import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { DEFAULT_PAIR_ADDRESSES, type Netns, type NetnsScope } from '../../../../tests/harness/index.js';

const DRIVER = fileURLToPath(new URL('./driver.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

export const SERVER_V4 = '192.0.2.1';
export const SERVER_V6 = '2001:db8::1';
/** The attacker namespace holds several addresses so each test can use fresh ones. */
export const ATTACKERS_V4 = ['192.0.2.2', '192.0.2.3', '192.0.2.4', '192.0.2.5', '192.0.2.6', '192.0.2.7'] as const;
export const ATTACKERS_V6 = ['2001:db8::2', '2001:db8::3', '2001:db8::4', '2001:db8::5', '2001:db8::6', '2001:db8::7'] as const;

/**
 * A driver process (driver.ts) inside a namespace; `call` sends one request and waits for its
 * answer. The namespace's dispose() kills it if the test did not stop it.
 */
export class Agent {
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

  static start(netns: Netns): Agent {
    return new Agent(netns.spawn(process.execPath, ['--conditions=source', '--import', 'tsx', DRIVER], { cwd: REPO_ROOT }));
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

/**
 * Server and attacker namespaces joined by veth (the harness deletes them after the file):
 * server 192.0.2.1 / 2001:db8::1, attacker 192.0.2.2-7 / 2001:db8::2-7.
 */
export async function createFirewallPair(scope: NetnsScope): Promise<{ server: Netns; attacker: Netns }> {
  const { a: server, b: attacker, link } = await scope.createPair({
    ...DEFAULT_PAIR_ADDRESSES,
    aAddr: `${SERVER_V4}/24`,
    aAddr6: `${SERVER_V6}/64`,
    bAddr: `${ATTACKERS_V4[0]}/24`,
    bAddr6: `${ATTACKERS_V6[0]}/64`,
  });
  for (const v4 of ATTACKERS_V4.slice(1)) await attacker.exec('ip', ['addr', 'add', `${v4}/24`, 'dev', link.bIf]);
  for (const v6 of ATTACKERS_V6.slice(1)) await attacker.exec('ip', ['-6', 'addr', 'add', `${v6}/64`, 'dev', link.bIf, 'nodad']);
  return { server, attacker };
}
