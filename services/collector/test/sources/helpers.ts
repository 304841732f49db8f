import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '@portcullis/shared';
import { PositionStore } from '../../src/positions/position-store.js';
import { createFileSource, type FileSourceOptions } from '../../src/sources/file/index.js';
import { sourceLines, type ChunkSink, type LogSource, type SourceChunk } from '../../src/sources/source.js';

export async function makeTempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'pct-filesrc-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A logger whose JSON lines are kept, so tests can assert what was reported. */
export function captureLog(): { log: Logger; entries: () => Record<string, unknown>[] } {
  const lines: string[] = [];
  const dest = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  const log = createLogger({ service: 'collector-test', level: 'debug', destination: dest });
  return { log, entries: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

/** The sink contract without NATS: records accepted chunks; can be told to reject (bus down). */
export class RecordingSink {
  readonly chunks: SourceChunk[] = [];
  failing = false;
  calls = 0;
  rejected = 0;
  /** Ids offered while failing, to prove the source does not read ahead during an outage. */
  readonly rejectedIds = new Set<string>();
  readonly #seen = new Set<string>();

  readonly sink: ChunkSink = async (chunk) => {
    this.calls++;
    if (this.failing) {
      this.rejected++;
      this.rejectedIds.add(chunk.chunkId);
      throw new Error('bus unavailable');
    }
    // Decoded now: the source reads into the bytes again once this sink has returned.
    const lines = sourceLines(chunk.lines);
    this.chunks.push({ ...chunk, lines });
    for (const l of lines) this.#seen.add(l.text);
  };

  has(text: string): boolean {
    return this.#seen.has(text);
  }

  texts(origin?: string): string[] {
    return this.chunks.filter((c) => origin === undefined || c.origin === origin).flatMap((c) => sourceLines(c.lines).map((l) => l.text));
  }

  lineCount(): number {
    let n = 0;
    for (const c of this.chunks) n += c.lines.length;
    return n;
  }

  async waitForLines(n: number, timeoutMs = 20_000): Promise<void> {
    await waitFor(() => this.lineCount() >= n, timeoutMs, () => `expected ${n} lines, got ${this.lineCount()}`);
  }
}

export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: () => string, intervalMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what()}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface Running {
  source: LogSource;
  positions: PositionStore;
  stop: () => Promise<void>;
}

/** Opens the position store in `dir` and starts a file source on it. */
export async function startSource(
  dir: string,
  sink: ChunkSink,
  opts: Partial<FileSourceOptions> & Pick<FileSourceOptions, 'patterns'>,
): Promise<Running> {
  const positions = await PositionStore.open(join(dir, 'positions.json'));
  const source = createFileSource({ log: opts.log ?? captureLog().log, rotateWaitMs: 300, retryMinMs: 20, retryMaxMs: 200, ...opts, positions });
  await source.start(sink);
  return {
    source,
    positions,
    stop: async () => {
      await source.stop();
      await positions.close();
    },
  };
}

/** `prefix` + zero-padded numbers, one per line: easy to check for gaps and repeats. */
export function numbered(prefix: string, from: number, to: number): string {
  let s = '';
  for (let i = from; i < to; i++) s += `${prefix}${String(i).padStart(7, '0')}\n`;
  return s;
}

export function expectedNumbered(prefix: string, from: number, to: number): string[] {
  const out: string[] = [];
  for (let i = from; i < to; i++) out.push(`${prefix}${String(i).padStart(7, '0')}`);
  return out;
}

const COLLECTOR_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Runs a TypeScript fixture in its own Node process (workspace packages resolved to sources). */
export function spawnFixture(name: string, args: string[]): ChildProcess {
  const script = join(COLLECTOR_DIR, 'test', 'sources', 'fixtures', name);
  return spawn(process.execPath, ['--conditions=source', '--import', 'tsx', script, ...args], {
    cwd: COLLECTOR_DIR,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Resolves with the first stdout line for which `match` returns a value. */
export function readStdoutLine<T>(child: ChildProcess, match: (line: string) => T | undefined, timeoutMs: number): Promise<T> {
  return new Promise((resolve, reject) => {
    let buf = '';
    let stderr = '';
    const timer = setTimeout(() => reject(new Error(`no matching output in ${timeoutMs} ms; stderr: ${stderr.slice(-2000)}`)), timeoutMs);
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) !== -1) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const v = match(line);
        if (v !== undefined) {
          clearTimeout(timer);
          resolve(v);
          return;
        }
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`child exited (${code ?? signal}) before matching output; stderr: ${stderr.slice(-2000)}`));
    });
  });
}
