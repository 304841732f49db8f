import { createHash } from 'node:crypto';
import { isAbsolute } from 'node:path';
import { findExecutable, PortcullisError, systemClock, type Clock, type Logger } from '@portcullis/shared';
import type { ChunkSink, LogSource } from '../source.js';
import { CursorStore } from './cursor-store.js';
import { JournalFollower, type JournalStreamSpec } from './journal-follower.js';
import { journalmatchArgs } from './journalmatch.js';

/** The jails that read one journalmatch (fail2ban syntax; empty = every entry). */
export interface JournalStream {
  journalmatch: string;
  jails: string[];
  /** Which journal this stream reads; default: the source's `journal`. */
  journal?: JournalLocation;
  /** First start only: read existing entries instead of starting at the journal's end. Default false. */
  fromStart?: boolean;
}

export interface JournaldSourceOptions {
  streams: JournalStream[];
  /** JSON file holding each stream's cursor (e.g. <state>/collector/journal-cursors.json). */
  cursorFile: string;
  log: Logger;
  clock?: Clock;
  /** Default "journalctl" (from PATH). */
  journalctl?: string;
  /** The journal of streams that name none; default: the system's. */
  journal?: JournalLocation;
  /** Default 1000. */
  batchMaxLines?: number;
  /** Default 5 ms. */
  batchMaxDelayMs?: number;
  retryMinMs?: number;
  retryMaxMs?: number;
  /** First delay before journalctl is started again after it exited. Default 1000 ms. */
  restartDelayMs?: number;
}

/**
 * `{ directory }` (journalctl --directory) or `{ files }` (journalctl --file, repeated). Paths must be
 * absolute: journalctl cannot follow a relative one.
 */
export type JournalLocation = { directory: string } | { files: string[] };

export function createJournaldSource(opts: JournaldSourceOptions): LogSource {
  return new JournaldSource(opts);
}

/**
 * The journal, read like fail2ban's systemd backend: one `journalctl --follow` per distinct
 * journalmatch, each entry rendered as a classic syslog line for the jails using that match.
 */
class JournaldSource implements LogSource {
  readonly kind = 'journal';
  readonly #o: JournaldSourceOptions;
  readonly #specs: JournalStreamSpec[];
  readonly #abort = new AbortController();
  #runs: Promise<void>[] = [];
  #started = false;

  constructor(opts: JournaldSourceOptions) {
    this.#o = opts;
    const byMatch = new Map<string, JournalStreamSpec>();
    for (const s of opts.streams) {
      const journalArgs = journalLocationArgs(s.journal ?? opts.journal);
      const matchArgs = journalmatchArgs(s.journalmatch);
      const key = streamKey(journalArgs, matchArgs);
      const spec = byMatch.get(key) ?? { key, journalArgs, journalmatch: matchArgs.join(' '), matchArgs, jails: [], fromStart: false };
      for (const j of s.jails) if (!spec.jails.includes(j)) spec.jails.push(j);
      spec.fromStart ||= s.fromStart ?? false;
      byMatch.set(key, spec);
    }
    this.#specs = [...byMatch.values()].filter((s) => s.jails.length > 0);
    for (const s of this.#specs) s.jails.sort();
  }

  async start(sink: ChunkSink): Promise<void> {
    if (this.#started) throw new PortcullisError('PC_INTERNAL', 'journald source already started');
    this.#started = true;
    const o = this.#o;
    const journalctl = await findExecutable(o.journalctl ?? 'journalctl');
    if (!journalctl) {
      throw new PortcullisError('PC_CONFIG_INVALID', `journal source: ${o.journalctl ?? 'journalctl'} was not found (jails with backend = systemd need it; on Debian it comes with the systemd package)`);
    }
    const cursors = await CursorStore.open(o.cursorFile, o.log);
    const deps = {
      journalctl,
      cursors,
      sink,
      log: o.log,
      clock: o.clock ?? systemClock,
      retry: { minMs: o.retryMinMs ?? 100, maxMs: o.retryMaxMs ?? 5000 },
      batchMaxLines: o.batchMaxLines ?? 1000,
      batchMaxDelayMs: o.batchMaxDelayMs ?? 5,
      restartDelayMs: o.restartDelayMs ?? 1000,
      signal: this.#abort.signal,
    };
    this.#runs = this.#specs.map((spec) => new JournalFollower(spec, deps).run());
    o.log.info({ streams: this.#specs.map((s) => ({ journal: s.journalArgs, journalmatch: s.journalmatch, jails: s.jails })) }, 'journal source started');
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await Promise.all(this.#runs);
  }
}

function journalLocationArgs(j: JournalLocation | undefined): string[] {
  if (!j) return [];
  const paths = 'directory' in j ? [j.directory] : j.files;
  if (paths.length === 0) throw new PortcullisError('PC_CONFIG_INVALID', 'journal source: journal.files is empty');
  for (const p of paths) {
    if (!isAbsolute(p)) throw new PortcullisError('PC_CONFIG_INVALID', `journal source: ${JSON.stringify(p)} must be an absolute path (journalctl cannot follow a relative one)`);
  }
  return 'directory' in j ? [`--directory=${j.directory}`] : j.files.map((f) => `--file=${f}`);
}

/** Stable across restarts and independent of jail names: the cursor belongs to what is read. */
function streamKey(journalArgs: string[], matchArgs: string[]): string {
  return createHash('sha256').update(JSON.stringify([journalArgs, matchArgs])).digest('hex').slice(0, 24);
}
