import { realpath, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { describeError, type Clock, type Logger } from '@portcullis/shared';
import type { PositionStore } from '../../positions/position-store.js';
import type { ChunkSink } from '../source.js';
import { deliverWithRetry, type RetryPolicy } from './deliver.js';
import { FileReader, type ReadLimits } from './file-reader.js';
import { HEAD_BYTES } from './head.js';
import { findPredecessor } from './predecessor.js';
import { ReadBuffer } from './read-buffer.js';
import { restoreReaders, type StartMode } from './restore.js';

export interface TailerDeps {
  positions: PositionStore;
  clock: Clock;
  log: Logger;
  sink: ChunkSink;
  limits: ReadLimits;
  /** Read buffer sizes: a live log's, and a backlog's (see ReadBuffer). */
  readBufferBytes: number;
  readBufferMaxBytes: number;
  batchMaxDelayMs: number;
  rotateWaitMs: number;
  retry: RetryPolicy;
  /** Delay before a position that advanced (with nothing pending) is written. */
  positionFlushDelayMs: number;
}

interface OldGeneration {
  reader: FileReader;
  /** Monotonic ms of the last time it grew: closed after rotateWaitMs of silence. */
  quietSince: number;
}

/**
 * Everything about one configured path: the file now at that path, plus older generations (renamed
 * away or deleted) still drained for late writes. All work runs in one serialized loop per path, so
 * a rotation is handled between two reads, never during one; the loop runs on poke (inotify event,
 * poll tick, batch timer).
 */
export class PathTailer {
  readonly path: string;
  readonly jails: string[];
  readonly #deps: TailerDeps;
  readonly #mode: StartMode;
  readonly #buf: ReadBuffer;
  readonly #abort = new AbortController();
  #initialized = false;
  #current: FileReader | null = null;
  #old: OldGeneration[] = [];
  #running: Promise<void> | null = null;
  #again = false;
  #delayTimer: NodeJS.Timeout | null = null;
  #realDir: string | null = null;
  #lastError = '';
  readonly #warnedLong = new Set<FileReader>();

  constructor(path: string, jails: string[], mode: StartMode, deps: TailerDeps) {
    this.path = path;
    this.jails = jails;
    this.#mode = mode;
    this.#deps = deps;
    this.#buf = new ReadBuffer(deps.readBufferBytes, deps.readBufferMaxBytes, deps.limits.maxBytes);
  }

  /** Directories whose inotify events concern this path (its own, and its symlink target's). */
  watchDirs(): string[] {
    const d = dirname(this.path);
    return this.#realDir && this.#realDir !== d ? [d, this.#realDir] : [d];
  }

  /** No file open: the path is absent and every old generation was finished. */
  get idle(): boolean {
    return this.#initialized && this.#current === null && this.#old.length === 0 && this.#running === null;
  }

  /** Opens the file(s) to read according to the saved position or the start mode. Idempotent. */
  async init(): Promise<void> {
    if (this.#initialized) return;
    const { positions, limits, log } = this.#deps;
    const r = await restoreReaders(this.path, positions.get(this.path), this.#mode, limits.maxLineBytes, log);
    const now = performance.now();
    this.#old = r.old.map((reader) => ({ reader, quietSince: now }));
    this.#current = r.current;
    this.#initialized = true;
    this.#save();
  }

  poke(): void {
    if (this.#abort.signal.aborted) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.#loop();
  }

  /** Waits for the delivery in flight (if any), saves the position and closes every file. */
  async stop(): Promise<void> {
    this.#abort.abort();
    if (this.#delayTimer) clearTimeout(this.#delayTimer);
    this.#delayTimer = null;
    await this.#running;
    if (this.#initialized) this.#save();
    await Promise.all([this.#current, ...this.#old.map((g) => g.reader)].map((r) => r && this.#close(r)));
    this.#current = null;
    this.#old = [];
  }

  get #aborted(): boolean {
    return this.#abort.signal.aborted;
  }

  async #loop(): Promise<void> {
    try {
      do {
        this.#again = false;
        try {
          await this.#step();
          this.#lastError = '';
        } catch (e) {
          // An unreadable file (permissions, I/O error) must not stop the others; report it once
          // per distinct error and try again on the next poke.
          const msg = describeError(e);
          if (msg !== this.#lastError) this.#deps.log.warn({ path: this.path, err: msg }, 'cannot read log file; will retry');
          this.#lastError = msg;
        }
      } while (this.#again && !this.#aborted);
    } finally {
      this.#running = null;
    }
  }

  async #step(): Promise<void> {
    if (!this.#initialized) await this.init();
    this.#realDir = await realpath(this.path).then(dirname, () => null);

    for (const g of [...this.#old]) {
      const res = await this.#drain(g.reader, false);
      if (this.#aborted) return;
      if (res === 'replaced') {
        this.#deps.log.warn({ path: this.path, file: g.reader.path }, 'a rotated file was truncated or rewritten before it was read to its end; its remainder is lost');
        this.#old = this.#old.filter((x) => x !== g);
        this.#save();
        await this.#close(g.reader);
      } else if (res === 'read') {
        g.quietSince = performance.now();
      } else if (g.reader.batch === null && performance.now() - g.quietSince >= this.#deps.rotateWaitMs) {
        await this.#retire(g);
        if (this.#aborted) return;
      }
    }

    const st = await stat(this.path, { bigint: true }).catch(() => null);
    const cur = this.#current;
    if (cur) {
      if (!st || st.dev.toString() !== cur.dev || st.ino.toString() !== cur.ino) {
        // Renamed away or deleted: finish the old file through its open fd before the new one.
        const res = await this.#drain(cur, false);
        if (this.#aborted) return;
        this.#current = null;
        if (res === 'replaced') {
          await this.#close(cur);
        } else {
          this.#deps.log.info({ path: this.path, offset: cur.committed }, st ? 'file rotated; reading the new file from its start' : 'file removed');
          this.#old.push({ reader: cur, quietSince: performance.now() });
        }
        this.#save();
      } else if (!(await cur.verifyAndExtendHead())) {
        await this.#replacedInPlace(cur);
        if (this.#aborted) return;
      }
    }
    if (!this.#current && st?.isFile()) {
      const fresh = await FileReader.open(this.path, { offset: 0 }, this.#deps.limits.maxLineBytes);
      if (fresh.dev !== st.dev.toString() || fresh.ino !== st.ino.toString()) await this.#missedGeneration(st.dev, st.ino);
      this.#current = fresh;
      this.#save();
    }
    // Bounded: each pass either finishes (end of file, batch held, stop) or found a truncation,
    // after which the file restarts at offset 0 and cannot be found truncated again until it grows.
    for (let pass = 0; this.#current && pass < 4; pass++) {
      const res = await this.#drain(this.#current, true);
      if (res !== 'replaced' || this.#aborted) break;
      await this.#replacedInPlace(this.#current);
    }
  }

  /**
   * The file we saw at the path was rotated away again before we opened it (while the previous
   * one was being drained). It is a whole generation we never read: find it among the rotated names
   * by inode and read it from its start, before the file now at the path.
   */
  async #missedGeneration(dev: bigint, ino: bigint): Promise<void> {
    const pos = { dev: dev.toString(), ino: ino.toString(), offset: 0, headLen: 0, headHash: '' };
    const pred = await findPredecessor(this.path, pos);
    if (!pred) {
      this.#deps.log.warn({ path: this.path }, 'a file generation was rotated away before it could be opened and was not found; its lines are lost');
      return;
    }
    this.#deps.log.info({ path: this.path, file: pred }, 'file rotated twice in quick succession; reading the skipped generation first');
    let reader: FileReader;
    try {
      reader = await FileReader.open(pred, { offset: 0 }, this.#deps.limits.maxLineBytes);
    } catch (e) {
      this.#deps.log.warn({ path: this.path, file: pred, err: describeError(e) }, 'the skipped generation could not be opened; its lines are lost');
      return;
    }
    this.#old.push({ reader, quietSince: performance.now() });
    this.#save();
    await this.#drain(reader, false);
  }

  /**
   * copytruncate (or a rewrite in place): the content we were reading is gone from this inode. If a
   * sibling holds a copy of it (same head, long enough), read the remainder from there first.
   */
  async #replacedInPlace(cur: FileReader): Promise<void> {
    const saved = cur.position();
    const pred = await findPredecessor(this.path, saved);
    if (pred) {
      this.#deps.log.info({ path: this.path, copy: pred, offset: saved.offset }, 'file truncated in place; reading the rest from its copy first');
      const reader = await FileReader.open(pred, { offset: saved.offset, head: { len: saved.headLen, hash: saved.headHash } }, this.#deps.limits.maxLineBytes);
      this.#old.push({ reader, quietSince: performance.now() });
      this.#save();
      // A copy is complete when the original is truncated, so reading it to its end now keeps its
      // lines ahead of those written to the emptied original.
      await this.#drain(reader, false);
    } else {
      this.#deps.log.warn({ path: this.path, offset: saved.offset }, 'file truncated or replaced in place; reading it again from its start');
    }
    cur.reset();
    this.#save();
  }

  /**
   * Reads and delivers until the end of the file. `holdYoung` lets a not-yet-full batch wait up to
   * batchMaxDelayMs for more lines (only for the live file: an old one must be finished promptly,
   * before lines of its successor). The head is checked after every read and before delivery: if
   * the file was truncated and rewritten meanwhile, what was just read may be new content at old
   * offsets, so it is dropped undelivered and 'replaced' returned.
   */
  async #drain(r: FileReader, holdYoung: boolean): Promise<'read' | 'idle' | 'replaced'> {
    const before = r.readOffset;
    const { limits, clock, batchMaxDelayMs } = this.#deps;
    const now = (): number => clock.now();
    while (!this.#aborted) {
      const res = await r.fill(this.#buf, limits, now);
      if (r.readOffset !== before && !(await r.verifyAndExtendHead())) return 'replaced';
      this.#noteTruncation(r);
      if (!r.batch) {
        if (res === 'eof') break;
        continue;
      }
      if (res === 'eof' && holdYoung) {
        const wait = batchMaxDelayMs - (performance.now() - r.batch.createdAt);
        if (wait > 0) {
          this.#armDelay(wait);
          break;
        }
      }
      if (!(await this.#deliver(r))) break;
    }
    return r.readOffset !== before ? 'read' : 'idle';
  }

  /** Last chance for an old generation: publish its unfinished last line, then close it. */
  async #retire(g: OldGeneration): Promise<void> {
    if (g.reader.flushPartial(() => this.#deps.clock.now()) && !(await this.#deliver(g.reader))) return;
    this.#old = this.#old.filter((x) => x !== g);
    this.#save();
    await this.#close(g.reader);
  }

  async #close(r: FileReader): Promise<void> {
    if (r.truncatedLines > 0) this.#deps.log.info({ path: r.path, truncatedLines: r.truncatedLines }, 'closing file with truncated lines');
    this.#warnedLong.delete(r);
    await r.close();
  }

  /**
   * Saves the chunk as pending (durably) before handing it over, so a crash at any point re-sends
   * exactly this range under this id; advances the position only once the sink confirmed.
   */
  async #deliver(r: FileReader): Promise<boolean> {
    const batch = r.batch;
    if (!batch) return true;
    const { positions, sink, retry, log } = this.#deps;
    if (!r.pending) {
      // The id's head must cover the chunk's own bytes when they lie in the first KiB, or two
      // files that reused an inode and were both empty when opened would produce equal ids.
      if (!batch.chunkId && r.head.len < HEAD_BYTES) await r.verifyAndExtendHead();
      r.pending = { start: batch.start, end: batch.end, chunkId: r.chunkId(batch) };
      this.#save();
      await this.#flushPositions();
    }
    const chunk = { origin: this.path, jails: this.jails, lines: batch.lines, chunkId: r.pending.chunkId };
    if (!(await deliverWithRetry(sink, chunk, retry, this.#abort.signal, log))) return false;
    r.delivered();
    this.#buf.recycle(batch.lines);
    this.#save();
    positions.scheduleFlush(this.#deps.positionFlushDelayMs, (e) => this.#reportFlushError(e));
    return true;
  }

  async #flushPositions(): Promise<void> {
    try {
      await this.#deps.positions.flush();
    } catch (e) {
      // Without a durable position lines still flow; only a restart may repeat some of them.
      this.#reportFlushError(e);
    }
  }

  #reportFlushError(e: unknown): void {
    this.#deps.log.error({ file: this.#deps.positions.file, err: describeError(e) }, 'cannot save read positions');
  }

  #save(): void {
    this.#deps.positions.set(this.path, {
      current: this.#current?.position() ?? null,
      rotated: this.#old.map((g) => g.reader.position()),
    });
  }

  #armDelay(ms: number): void {
    if (this.#delayTimer) return;
    this.#delayTimer = setTimeout(
      () => {
        this.#delayTimer = null;
        this.poke();
      },
      Math.ceil(ms),
    );
  }

  #noteTruncation(r: FileReader): void {
    if (r.truncatedLines === 0 || this.#warnedLong.has(r)) return;
    this.#warnedLong.add(r);
    this.#deps.log.warn(
      { path: this.path, maxLineBytes: this.#deps.limits.maxLineBytes },
      'line longer than maxLineBytes truncated (reported once per file, with a count when the file is closed)',
    );
  }
}
