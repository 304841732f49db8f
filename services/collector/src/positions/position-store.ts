import { readFile, rename } from 'node:fs/promises';
import type { Logger } from '@portcullis/shared';
import { atomicWriteFile } from './atomic-write.js';
import { parsePositionsFile, type PathPositions } from './position-types.js';

export type { FilePosition, PathPositions, PendingChunk } from './position-types.js';

export interface PositionStoreOptions {
  log?: Pick<Logger, 'warn'>;
}

/**
 * Read positions of every tailed file, persisted as one JSON file in the state directory. Writes are
 * atomic (temp + fsync + rename) and grouped: callers that ask for a flush while one is being written
 * share the next write, so many files advancing at once cost one fsync, not one each.
 */
export class PositionStore {
  readonly file: string;
  readonly #entries: Map<string, PathPositions>;
  #version = 0;
  #writtenVersion = 0;
  #inflight: Promise<void> | null = null;
  #timer: NodeJS.Timeout | null = null;

  private constructor(file: string, entries: Map<string, PathPositions>) {
    this.file = file;
    this.#entries = entries;
  }

  /**
   * Loads `file` (a missing file is an empty store). A file that cannot be parsed is moved aside as
   * `<file>.corrupt-<time>` for inspection and the store starts empty: the collector must come up
   * even then, and every tailed file is treated as seen for the first time.
   */
  static async open(file: string, opts: PositionStoreOptions = {}): Promise<PositionStore> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new PositionStore(file, new Map());
      throw e;
    }
    try {
      return new PositionStore(file, parsePositionsFile(text));
    } catch (e) {
      const aside = `${file}.corrupt-${Date.now()}`;
      await rename(file, aside);
      opts.log?.warn({ file, aside, err: (e as Error).message }, 'positions file is corrupt; moved aside, starting without positions');
      return new PositionStore(file, new Map());
    }
  }

  get(path: string): PathPositions | undefined {
    const e = this.#entries.get(path);
    return e && structuredClone(e);
  }

  set(path: string, value: PathPositions): void {
    this.#entries.set(path, structuredClone(value));
    this.#version++;
  }

  delete(path: string): void {
    if (this.#entries.delete(path)) this.#version++;
  }

  paths(): string[] {
    return [...this.#entries.keys()];
  }

  /** Resolves once every change made before the call is durably on disk. */
  async flush(): Promise<void> {
    const target = this.#version;
    while (this.#writtenVersion < target) {
      if (this.#inflight) {
        await this.#inflight.catch(() => undefined);
        continue;
      }
      this.#inflight = this.#write().finally(() => {
        this.#inflight = null;
      });
      await this.#inflight;
    }
  }

  /** Flushes soon without making the caller wait; errors are reported to `onError`. */
  scheduleFlush(delayMs: number, onError: (e: unknown) => void): void {
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.flush().catch(onError);
    }, delayMs);
    this.#timer.unref();
  }

  async close(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.flush();
  }

  async #write(): Promise<void> {
    const version = this.#version;
    const files: Record<string, PathPositions> = {};
    for (const [k, v] of this.#entries) files[k] = v;
    await atomicWriteFile(this.file, `${JSON.stringify({ version: 1, files }, null, 1)}\n`);
    this.#writtenVersion = Math.max(this.#writtenVersion, version);
  }
}
