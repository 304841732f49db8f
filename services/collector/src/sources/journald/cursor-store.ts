import { mkdir, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from '@portcullis/shared';
import { atomicWriteFile } from '../../positions/atomic-write.js';

/**
 * A chunk handed to the sink but not yet confirmed: after a crash the same `count` journal lines
 * after `cursor` are sent again under the same id, so the bus's duplicate window drops the copy if
 * the first attempt had in fact arrived.
 */
export interface PendingJournalChunk {
  count: number;
  chunkId: string;
}

/** Where one journal stream (one journalmatch on one journal) stands. */
export interface JournalPosition {
  /** What the stream reads, for people looking at the file. */
  match: string;
  /** The last entry delivered; null = nothing yet, read from the journal's start for this match. */
  cursor: string | null;
  pending?: PendingJournalChunk;
}

/**
 * Journal cursors of every stream in one JSON file, written atomically (temp + fsync + rename).
 * Callers that flush while a write is under way share the next write.
 */
export class CursorStore {
  readonly file: string;
  readonly #entries: Map<string, JournalPosition>;
  #version = 0;
  #written = 0;
  #inflight: Promise<void> | null = null;

  private constructor(file: string, entries: Map<string, JournalPosition>) {
    this.file = file;
    this.#entries = entries;
  }

  /**
   * A missing file is an empty store. A corrupt one is moved aside (`<file>.corrupt-<ms>`) and the
   * store starts empty, so the collector still comes up; its streams then start at the journal's end.
   */
  static async open(file: string, log?: Pick<Logger, 'warn'>): Promise<CursorStore> {
    await mkdir(dirname(file), { recursive: true });
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new CursorStore(file, new Map());
      throw e;
    }
    try {
      return new CursorStore(file, parseCursorFile(text));
    } catch (e) {
      const aside = `${file}.corrupt-${Date.now()}`;
      await rename(file, aside);
      log?.warn({ file, aside, err: (e as Error).message }, 'journal cursor file is corrupt; moved aside, streams start at the journal end');
      return new CursorStore(file, new Map());
    }
  }

  get(key: string): JournalPosition | undefined {
    const p = this.#entries.get(key);
    return p && structuredClone(p);
  }

  set(key: string, pos: JournalPosition): void {
    this.#entries.set(key, structuredClone(pos));
    this.#version++;
  }

  delete(key: string): void {
    if (this.#entries.delete(key)) this.#version++;
  }

  /** Resolves once every change made before the call is durably on disk. */
  async flush(): Promise<void> {
    const target = this.#version;
    while (this.#written < target) {
      if (this.#inflight) {
        await this.#inflight.catch(() => undefined);
        continue;
      }
      const version = this.#version;
      const data = JSON.stringify({ version: 1, streams: Object.fromEntries(this.#entries) }, null, 1) + '\n';
      this.#inflight = atomicWriteFile(this.file, data).finally(() => {
        this.#inflight = null;
      });
      await this.#inflight;
      this.#written = Math.max(this.#written, version);
    }
  }
}

function parseCursorFile(text: string): Map<string, JournalPosition> {
  const doc: unknown = JSON.parse(text);
  if (!isObject(doc) || doc.version !== 1 || !isObject(doc.streams)) throw new Error('expected {"version":1,"streams":{...}}');
  const out = new Map<string, JournalPosition>();
  for (const [key, v] of Object.entries(doc.streams)) {
    if (!isObject(v) || typeof v.match !== 'string' || !(v.cursor === null || (typeof v.cursor === 'string' && v.cursor !== ''))) {
      throw new Error(`stream ${key}: expected {match, cursor}`);
    }
    const pos: JournalPosition = { match: v.match, cursor: v.cursor as string | null };
    if (v.pending !== undefined) {
      const p = v.pending;
      if (!isObject(p) || !Number.isSafeInteger(p.count) || (p.count as number) < 1 || typeof p.chunkId !== 'string') {
        throw new Error(`stream ${key}: pending must be {count, chunkId}`);
      }
      pos.pending = { count: p.count as number, chunkId: p.chunkId };
    }
    out.set(key, pos);
  }
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
