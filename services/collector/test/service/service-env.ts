import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestNats, type TestServer } from '../../../../tests/harness/index.js';
import { CollectorProcess, writeCollectorConfig, type JailSpec } from './collector-process.js';
import { StreamLines } from './stream-lines.js';

/**
 * One real nats-server, a temp directory with the collector's config and state, the collector as a
 * process, and a durable reader of what it published. dispose() tears all of it down, whatever
 * state a failed test left it in.
 */
export class ServiceEnv {
  readonly host = 'svc-test';
  collector: CollectorProcess | null = null;
  lines: StreamLines | null = null;
  readonly #readers: StreamLines[] = [];

  private constructor(
    readonly dir: string,
    readonly nats: TestServer,
  ) {}

  static async create(): Promise<ServiceEnv> {
    const dir = await mkdtemp(join(tmpdir(), 'pct-collector-svc-'));
    try {
      return new ServiceEnv(dir, await startTestNats());
    } catch (e) {
      await rm(dir, { recursive: true, force: true });
      throw e;
    }
  }

  get configDir(): string {
    return join(this.dir, 'config');
  }

  get stateDir(): string {
    return join(this.dir, 'state');
  }

  get logFile(): string {
    return join(this.dir, 'collector.log');
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  configure(jails: JailSpec[]): void {
    writeCollectorConfig(this.configDir, { natsUrl: this.nats.url, host: this.host, jails });
  }

  async startCollector(): Promise<CollectorProcess> {
    this.collector = await CollectorProcess.start(this.configDir, this.stateDir, this.logFile);
    return this.collector;
  }

  async readLines(keep?: (text: string) => boolean): Promise<StreamLines> {
    this.lines = await StreamLines.start(this.nats.url, this.host, keep ? { keep } : {});
    this.#readers.push(this.lines);
    return this.lines;
  }

  /**
   * A second durable consumer that reads the whole stream from its start, for the verdict after a
   * nats-server crash: a consumer alive across the crash may lose its acks and get messages again
   * as first deliveries (at-least-once), which says nothing about what the stream holds.
   */
  async readAllAgain(): Promise<StreamLines> {
    const r = await StreamLines.start(this.nats.url, this.host, { durable: `verdict-${this.#readers.length}` });
    this.#readers.push(r);
    return r;
  }

  /** The collector's JSON log entries. */
  logEntries(): Record<string, unknown>[] {
    return (this.collector?.logText() ?? '')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  async dispose(): Promise<void> {
    await this.collector?.stop('SIGKILL').catch(() => undefined);
    for (const r of this.#readers) await r.stop().catch(() => undefined);
    await this.nats.dispose();
    await rm(this.dir, { recursive: true, force: true });
  }
}
