import { stat } from 'node:fs/promises';
import { PortcullisError, describeError, systemClock, type Clock, type Logger } from '@portcullis/shared';
import type { PositionStore } from '../../positions/position-store.js';
import type { ChunkSink, LogSource } from '../source.js';
import { DirWatchers } from './dir-watchers.js';
import { expandPatterns, planPatterns, type FilePattern, type PatternPlan } from './discovery.js';
import { PathTailer, type TailerDeps } from './tailer.js';

export interface FileSourceOptions {
  patterns: FilePattern[];
  positions: PositionStore;
  clock?: Clock;
  log: Logger;
  /** How often every tailed file is stat'ed, whatever inotify says. Default 250 ms. */
  pollIntervalMs?: number;
  /**
   * Use inotify (fs.watch) for low latency; polling runs either way. false is fail2ban's
   * `backend = polling`, for filesystems where inotify sees nothing (NFS, some FUSE). Default true.
   */
  useInotify?: boolean;
  /** How often globs are expanded again for new files. Default 1000 ms. */
  rescanIntervalMs?: number;
  /** Longer lines are cut to this many bytes. Default 64 KiB (the LogBatch contract's line limit). */
  maxLineBytes?: number;
  /** Default 1000 lines. */
  batchMaxLines?: number;
  /** Default 256 KiB, so a chunk fits in a bus message after JSON encoding. */
  batchMaxBytes?: number;
  /** How long a partial batch waits for more lines. Default 5 ms. */
  batchMaxDelayMs?: number;
  /** How long a rotated or deleted file is still watched for late writes. Default 5000 ms. */
  rotateWaitMs?: number;
  /** Backoff after a sink rejection: doubles from min to max. Default 100 ms .. 5000 ms. */
  retryMinMs?: number;
  retryMaxMs?: number;
}

export function createFileSource(opts: FileSourceOptions): LogSource {
  return new FileSource(opts);
}

const READ_BUFFER_BYTES = 64 * 1024;
const READ_BUFFER_MAX_BYTES = 1024 * 1024;

class FileSource implements LogSource {
  readonly kind = 'file';
  readonly #opts: FileSourceOptions;
  readonly #plans: PatternPlan[];
  readonly #tailers = new Map<string, PathTailer>();
  readonly #watchers: DirWatchers;
  readonly #timers: NodeJS.Timeout[] = [];
  #deps: TailerDeps | null = null;
  #stopping = false;
  #scanning: Promise<void> | null = null;
  #scanAgain = false;
  #rescanSoon: NodeJS.Timeout | null = null;

  constructor(opts: FileSourceOptions) {
    this.#opts = opts;
    this.#plans = planPatterns(opts.patterns);
    const positive = (name: string, v: number | undefined): void => {
      if (v !== undefined && !(Number.isFinite(v) && v > 0)) throw new PortcullisError('PC_CONFIG_INVALID', `file source: ${name} must be a positive number, got ${v}`);
    };
    for (const k of ['pollIntervalMs', 'rescanIntervalMs', 'maxLineBytes', 'batchMaxLines', 'batchMaxBytes', 'retryMinMs', 'retryMaxMs'] as const) positive(k, opts[k]);
    this.#watchers = new DirWatchers(
      (dir) => this.#onDirEvent(dir),
      (dir, e) => opts.log.debug({ dir, err: describeError(e) }, 'cannot watch directory; relying on polling'),
    );
  }

  async start(sink: ChunkSink): Promise<void> {
    if (this.#deps) throw new PortcullisError('PC_INTERNAL', 'file source already started');
    const o = this.#opts;
    this.#deps = {
      positions: o.positions,
      clock: o.clock ?? systemClock,
      log: o.log,
      sink,
      limits: { maxLines: o.batchMaxLines ?? 1000, maxBytes: o.batchMaxBytes ?? 256 * 1024, maxLineBytes: o.maxLineBytes ?? 64 * 1024 },
      readBufferBytes: READ_BUFFER_BYTES,
      readBufferMaxBytes: READ_BUFFER_MAX_BYTES,
      batchMaxDelayMs: o.batchMaxDelayMs ?? 5,
      rotateWaitMs: o.rotateWaitMs ?? 5000,
      retry: { minMs: o.retryMinMs ?? 100, maxMs: o.retryMaxMs ?? 5000 },
      positionFlushDelayMs: 100,
    };
    await this.#scan(true);
    this.#timers.push(setInterval(() => this.#pokeAll(), o.pollIntervalMs ?? 250));
    this.#timers.push(setInterval(() => this.#rescan(), o.rescanIntervalMs ?? 1000));
    this.#pokeAll();
  }

  async stop(): Promise<void> {
    if (this.#stopping || !this.#deps) return;
    this.#stopping = true;
    for (const t of this.#timers) clearInterval(t);
    if (this.#rescanSoon) clearTimeout(this.#rescanSoon);
    this.#watchers.closeAll();
    await this.#scanning;
    this.#watchers.closeAll();
    await Promise.all([...this.#tailers.values()].map((t) => t.stop()));
    await this.#opts.positions.flush();
  }

  #pokeAll(): void {
    for (const t of this.#tailers.values()) t.poke();
  }

  #onDirEvent(dir: string): void {
    for (const t of this.#tailers.values()) if (t.watchDirs().includes(dir)) t.poke();
    if (this.#plans.some((p) => p.rest !== null && (dir === p.base || dir.startsWith(`${p.base}/`))) && !this.#rescanSoon && !this.#stopping) {
      // A burst of events (a rotation is several) costs one glob expansion.
      this.#rescanSoon = setTimeout(() => {
        this.#rescanSoon = null;
        this.#rescan();
      }, 20);
    }
  }

  #rescan(): void {
    if (this.#stopping) return;
    if (this.#scanning) {
      this.#scanAgain = true;
      return;
    }
    this.#scanning = (async () => {
      do {
        this.#scanAgain = false;
        try {
          await this.#scan(false);
        } catch (e) {
          this.#opts.log.warn({ err: describeError(e) }, 'rescanning log paths failed; will retry');
        }
      } while (this.#scanAgain && !this.#stopping);
    })().finally(() => {
      this.#scanning = null;
    });
  }

  /**
   * Expands the patterns, starts tailing new paths and forgets finished ones. On the initial scan a
   * file already present is read from its end (unless fromStart); anything found later is new and
   * read from its start.
   */
  async #scan(initial: boolean): Promise<void> {
    const deps = this.#deps as TailerDeps;
    const matches = await expandPatterns(this.#plans);
    if (initial) {
      // Positions of paths no pattern names any more would otherwise be kept forever.
      for (const p of deps.positions.paths()) if (!matches.has(p)) deps.positions.delete(p);
    }
    const added: PathTailer[] = [];
    for (const m of matches.values()) {
      if (this.#stopping) return;
      if (this.#tailers.has(m.path)) continue;
      const present = initial && (await stat(m.path).then((s) => s.isFile(), () => false));
      const t = new PathTailer(m.path, m.jails, present && !m.fromStart ? 'end' : 'start', deps);
      this.#tailers.set(m.path, t);
      added.push(t);
    }
    if (initial) {
      // Settle start offsets before start() resolves: lines appended after it must all be read.
      for (const t of added) {
        try {
          await t.init();
        } catch (e) {
          this.#opts.log.warn({ path: t.path, err: describeError(e) }, 'cannot open log file; will retry');
        }
      }
    } else {
      for (const t of added) t.poke();
    }
    for (const [path, t] of this.#tailers) {
      if (!matches.has(path) && t.idle) {
        this.#tailers.delete(path);
        await t.stop();
        deps.positions.delete(path);
      }
    }
    if (this.#stopping) return;
    const dirs = new Set<string>();
    for (const p of this.#plans) dirs.add(p.base);
    for (const t of this.#tailers.values()) for (const d of t.watchDirs()) dirs.add(d);
    if (this.#opts.useInotify !== false) await this.#watchers.sync(dirs);
  }
}
