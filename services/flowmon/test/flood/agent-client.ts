import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ControlRequestV1, FlowAlertV1, FlowSampleV1 } from '@portcullis/shared';
import type { Netns } from '../../../../tests/harness/index.js';

const AGENT = fileURLToPath(new URL('./agent.ts', import.meta.url));
const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

export interface Seen<T> {
  /** Date.now() when the line arrived here. */
  receivedAt: number;
  value: T;
}

/** The test's end of agent.ts: requests, and every alert and sample flowmon published. */
export class FlowmonAgent {
  readonly alerts: Seen<FlowAlertV1>[] = [];
  readonly samples: Seen<FlowSampleV1>[] = [];
  readonly controls: Seen<ControlRequestV1>[] = [];
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private stderr = '';
  private exited: string | undefined;
  private readonly ready: Promise<void>;

  private constructor(private readonly child: ChildProcess) {
    let markReady: () => void = () => undefined;
    this.ready = new Promise((r) => (markReady = r));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let msg: { id?: number; ok?: boolean; result?: unknown; error?: string; event?: string; alert?: FlowAlertV1; sample?: FlowSampleV1; request?: ControlRequestV1 };
      try {
        msg = JSON.parse(line) as typeof msg;
      } catch {
        return; // a stray log line
      }
      if (msg.event === 'ready') markReady();
      else if (msg.event === 'alert' && msg.alert) this.alerts.push({ receivedAt: Date.now(), value: msg.alert });
      else if (msg.event === 'sample' && msg.sample) this.samples.push({ receivedAt: Date.now(), value: msg.sample });
      else if (msg.event === 'control' && msg.request) this.controls.push({ receivedAt: Date.now(), value: msg.request });
      else if (msg.id !== undefined) {
        const p = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        if (msg.ok) p?.resolve(msg.result);
        else p?.reject(new Error(msg.error));
      }
    });
    child.stderr!.on('data', (b: Buffer) => (this.stderr = (this.stderr + b.toString()).slice(-20_000)));
    child.on('exit', (code, signal) => {
      this.exited = `flowmon agent exited (${code ?? signal}): ${this.stderr}`;
      for (const p of this.pending.values()) p.reject(new Error(this.exited));
      this.pending.clear();
    });
  }

  static async start(ns: Netns): Promise<FlowmonAgent> {
    const agent = new FlowmonAgent(ns.spawn(process.execPath, ['--conditions=source', '--import', 'tsx', AGENT], { cwd: REPO_ROOT }));
    await Promise.race([
      agent.ready,
      new Promise((_, reject) => setTimeout(() => reject(new Error(`agent not ready: ${agent.stderr}`)), 30_000)),
    ]);
    return agent;
  }

  get log(): string {
    return this.stderr;
  }

  call<T = unknown>(op: string, args: Record<string, unknown> = {}, timeoutMs = 30_000): Promise<T> {
    if (this.exited) return Promise.reject(new Error(this.exited));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`agent did not answer ${op} within ${timeoutMs} ms; stderr: ${this.stderr}`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (v) => (clearTimeout(timer), resolve(v as T)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.child.stdin!.write(`${JSON.stringify({ id, op, args })}\n`);
    });
  }

  /** The first alert (from index `from` on) that matches, waiting up to timeoutMs. */
  async waitAlert(pred: (a: FlowAlertV1) => boolean, timeoutMs: number, from = 0): Promise<Seen<FlowAlertV1>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.alerts.slice(from).find((a) => pred(a.value));
      if (hit) return hit;
      if (Date.now() > deadline) {
        const seen = this.alerts.map((a) => `${a.value.phase} ${a.value.attack} ${a.value.metric} rate=${Math.round(a.value.rate)}`).join('\n  ');
        throw new Error(`no matching alert within ${timeoutMs} ms; alerts so far:\n  ${seen || '(none)'}\nagent stderr: ${this.stderr.slice(-3000)}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.stdin!.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}
