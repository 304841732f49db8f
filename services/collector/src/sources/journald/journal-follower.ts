import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeError, RejectCounter, type Clock, type Logger } from '@portcullis/shared';
import { deliverWithRetry, type RetryPolicy } from '../file/deliver.js';
import type { ChunkSink, SourceLine } from '../source.js';
import type { CursorStore, JournalPosition } from './cursor-store.js';
import { entryCursor, formatJournalEntry, type JournalEntry } from './journal-entry.js';
import { LineReader } from './line-reader.js';

/** One journalctl process: the entries of one journalmatch, for the jails that use it. */
export interface JournalStreamSpec {
  /** Key in the cursor file (derived from the journal location and the match). */
  key: string;
  /** Which journal: [] for the system's, or ['--directory=/x'], ['--file=/x/a.journal'], ... */
  journalArgs: string[];
  journalmatch: string;
  /** journalmatch as journalctl arguments (see journalmatchArgs). */
  matchArgs: string[];
  jails: string[];
  /** First start only: read the journal's existing entries (true) or start at its end (false). */
  fromStart: boolean;
}

export interface FollowerDeps {
  journalctl: string;
  cursors: CursorStore;
  sink: ChunkSink;
  log: Logger;
  clock: Clock;
  retry: RetryPolicy;
  batchMaxLines: number;
  batchMaxDelayMs: number;
  /** First wait before restarting a journalctl that exited; doubles up to 30 s. */
  restartDelayMs: number;
  signal: AbortSignal;
}

const STDERR_TAIL = 2000;
const MAX_RESTART_DELAY_MS = 30_000;

/**
 * Follows the journal through `journalctl -o json --follow`, resuming after the last delivered
 * entry's cursor (`--after-cursor`). The cursor is saved only after the sink resolved, and a chunk
 * about to be handed over is recorded first (count + id), so a crash at any point re-sends exactly
 * that chunk under the same id: nothing is lost and JetStream drops the copy.
 */
export class JournalFollower {
  readonly #spec: JournalStreamSpec;
  readonly #d: FollowerDeps;
  readonly #complaints = new RejectCounter();

  constructor(spec: JournalStreamSpec, deps: FollowerDeps) {
    this.#spec = spec;
    this.#d = deps;
  }

  get origin(): string {
    return this.#spec.journalmatch ? `journal:${this.#spec.journalmatch}` : 'journal';
  }

  /** Runs until the signal aborts; restarts journalctl whenever it exits. */
  async run(): Promise<void> {
    let delay = this.#d.restartDelayMs;
    while (!this.#d.signal.aborted) {
      const startedAt = Date.now();
      try {
        await this.#initPosition();
        await this.#follow();
      } catch (e) {
        if (this.#d.signal.aborted) break;
        this.#d.log.warn({ origin: this.origin, err: describeError(e) }, 'journal: reading failed');
      }
      if (this.#d.signal.aborted) break;
      // A journalctl that ran for a while gets a fresh, short delay; one failing at once backs off.
      if (Date.now() - startedAt > MAX_RESTART_DELAY_MS) delay = this.#d.restartDelayMs;
      try {
        await sleep(delay, undefined, { signal: this.#d.signal });
      } catch {
        break;
      }
      delay = Math.min(MAX_RESTART_DELAY_MS, delay * 2);
    }
  }

  /**
   * First start of this stream: from the journal's start, or (by default) after its current last
   * matching entry. That cursor is saved at once, so entries written while the collector is down
   * before the first delivery are still read after a restart.
   */
  async #initPosition(): Promise<void> {
    if (this.#d.cursors.get(this.#spec.key)) return;
    let cursor: string | null = null;
    if (!this.#spec.fromStart) {
      const out = await this.#runOnce(['--output=json', '--all', '--quiet', '--no-pager', '--lines=1', ...this.#spec.matchArgs]);
      const last = out.split('\n').filter(Boolean).pop();
      if (last) {
        cursor = entryCursor(JSON.parse(last) as JournalEntry) ?? null;
      }
    }
    this.#d.cursors.set(this.#spec.key, { match: this.#spec.journalmatch, cursor });
    await this.#d.cursors.flush();
    this.#d.log.info({ origin: this.origin, cursor, fromStart: this.#spec.fromStart }, 'journal: first start of this stream');
  }

  async #follow(): Promise<void> {
    const pos = this.#d.cursors.get(this.#spec.key) as JournalPosition;
    // --no-tail: without it --follow shows only the last 10 entries, even after a cursor.
    const args = [...this.#spec.journalArgs, '--output=json', '--all', '--quiet', '--no-pager', '--follow', '--no-tail'];
    if (pos.cursor) args.push(`--after-cursor=${pos.cursor}`);
    args.push(...this.#spec.matchArgs);
    const child = spawn(this.#d.journalctl, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      stderr = (stderr + s).slice(-STDERR_TAIL);
    });
    let spawnError: Error | undefined;
    const exited = new Promise<void>((r) => {
      child.once('close', () => r());
      child.once('error', (e) => {
        spawnError = e;
        r();
      });
    });
    const onAbort = (): void => void child.kill('SIGTERM');
    this.#d.signal.addEventListener('abort', onAbort, { once: true });
    const reader = new LineReader(child.stdout, this.#d.batchMaxLines * 4);
    let delivered = 0;
    try {
      let cursor = pos.cursor;
      let pending = pos.pending;
      for (;;) {
        const batch = await this.#readBatch(reader, pending?.count);
        if (batch.raw === 0) break;
        // The chunk recorded before a crash must be rebuilt whole, or its id would cover other lines.
        if (pending && batch.raw < pending.count) break;
        const ok = await this.#deliver(cursor, batch, pending?.chunkId);
        if (!ok) break;
        delivered += batch.lines.length;
        pending = undefined;
        if (batch.lastCursor) cursor = batch.lastCursor;
      }
    } finally {
      this.#d.signal.removeEventListener('abort', onAbort);
      child.kill('SIGTERM');
      await exited;
    }
    if (this.#d.signal.aborted) return;
    const detail = { origin: this.origin, code: child.exitCode, signal: child.signalCode, delivered, stderr: stderr.trim() };
    if (spawnError) throw spawnError;
    if (/cursor/i.test(stderr) && child.exitCode !== 0 && delivered === 0) {
      // A cursor journalctl refuses (a corrupt file, another journal): start over at the end.
      this.#d.log.error(detail, 'journal: saved cursor refused by journalctl; starting again at the journal end');
      this.#d.cursors.delete(this.#spec.key);
      await this.#d.cursors.flush();
      return;
    }
    this.#d.log.warn(detail, 'journal: journalctl exited; restarting it after the last delivered entry');
  }

  /**
   * Up to batchMaxLines entries, waiting briefly for more once one arrived. With `exactly`, the
   * chunk recorded as pending before a crash is rebuilt line for line.
   */
  async #readBatch(reader: LineReader, exactly?: number): Promise<{ lines: SourceLine[]; raw: number; firstCursor?: string; lastCursor?: string }> {
    const lines: SourceLine[] = [];
    let raw = 0;
    let firstCursor: string | undefined;
    let lastCursor: string | undefined;
    const want = exactly ?? this.#d.batchMaxLines;
    while (raw < want) {
      let text: string | null | undefined;
      if (raw === 0 || exactly !== undefined) text = await reader.next();
      else {
        text = reader.tryNext();
        if (text === undefined) {
          if (!(await reader.waitFor(this.#d.batchMaxDelayMs))) break;
          text = reader.tryNext();
        }
      }
      if (text === null || text === undefined) break;
      raw++;
      const now = this.#d.clock.now();
      let entry: JournalEntry;
      try {
        entry = JSON.parse(text) as JournalEntry;
        if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new Error('not a JSON object');
      } catch (e) {
        this.#complain({ err: describeError(e), sample: text.slice(0, 120) }, 'journal: journalctl wrote a line that is not a JSON entry; skipped');
        continue;
      }
      const c = entryCursor(entry);
      if (!c) {
        this.#complain({ sample: text.slice(0, 120) }, 'journal: entry without __CURSOR; skipped');
        continue;
      }
      firstCursor ??= c;
      lastCursor = c;
      lines.push({ text: formatJournalEntry(entry, BigInt(now) * 1000n), readAt: now });
    }
    return { lines, raw, ...(firstCursor ? { firstCursor } : {}), ...(lastCursor ? { lastCursor } : {}) };
  }

  /** Records the chunk as pending, hands it to the sink until accepted, then saves the new cursor. */
  async #deliver(
    cursor: string | null,
    batch: { lines: SourceLine[]; raw: number; firstCursor?: string; lastCursor?: string },
    forcedId: string | undefined,
  ): Promise<boolean> {
    const { cursors } = this.#d;
    const key = this.#spec.key;
    const match = this.#spec.journalmatch;
    if (batch.lines.length === 0 || !batch.lastCursor) {
      // Only unreadable lines: nothing to send, but do not read them again.
      if (batch.lastCursor) {
        cursors.set(key, { match, cursor: batch.lastCursor });
        await cursors.flush();
      }
      return true;
    }
    const chunkId = forcedId ?? this.#chunkId(batch.firstCursor as string, batch.lastCursor, batch.raw);
    cursors.set(key, { match, cursor, pending: { count: batch.raw, chunkId } });
    await cursors.flush();
    const chunk = { origin: this.origin, jails: this.#spec.jails, lines: batch.lines, chunkId };
    const ok = await deliverWithRetry(this.#d.sink, chunk, this.#d.retry, this.#d.signal, this.#d.log);
    if (!ok) return false;
    cursors.set(key, { match, cursor: batch.lastCursor });
    await cursors.flush();
    return true;
  }

  #chunkId(first: string, last: string, count: number): string {
    const h = createHash('sha256').update(`${this.#spec.key}\n${first}\n${last}\n${count}`).digest('hex');
    return `journal:${h.slice(0, 40)}`;
  }

  /** journalctl for a one-shot query (the first start's position). */
  #runOnce(extra: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.#d.journalctl, [...this.#spec.journalArgs, ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
      child.stderr.setEncoding('utf8').on('data', (s: string) => (err = (err + s).slice(-STDERR_TAIL)));
      child.once('error', reject);
      child.once('close', (code) => {
        if (code === 0) resolve(out);
        else reject(new Error(`${this.#d.journalctl} exited with code ${code}: ${err.trim()}`));
      });
    });
  }

  #complain(fields: Record<string, unknown>, msg: string): void {
    const { count, shouldLog } = this.#complaints.record('bad-line');
    if (shouldLog) this.#d.log.warn({ origin: this.origin, count, ...fields }, msg);
  }
}
