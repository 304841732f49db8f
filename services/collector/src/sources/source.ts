import { ByteLines } from './byte-lines.js';

/**
 * A log source (file, journald, syslog, HTTP ingest) produces chunks of complete lines. Sources are
 * registered by name (see registry.ts) and all share this interface and the same file layout:
 * sources/<name>/index.ts exports a SourceFactory.
 */

/** One line as read, before it goes on the bus. */
export interface SourceLine {
  /** The line without its terminator. Invalid UTF-8 is replaced (U+FFFD), never dropped. */
  text: string;
  /** Epoch ms when the collector read the line. */
  readAt: number;
}

export interface SourceChunk {
  /** Stable name of what was read: a file path, "journal", "syslog:udp/514"... */
  origin: string;
  /** Jails that watch this origin. */
  jails: string[];
  /**
   * Decoded lines, or the bytes read (the file source): see ByteLines and sourceLines(). The lines
   * are the sink's only until its promise settles: the file source reads into their memory again
   * after that, so a sink that keeps lines must copy them (sourceLines does).
   */
  lines: SourceLine[] | ByteLines;
  /**
   * A deterministic id for this chunk (e.g. file identity + start offset), so a re-publish after a
   * crash carries the same id and downstream de-duplication works.
   */
  chunkId: string;
}

/** A chunk's lines as decoded lines, whichever form the source produced. */
export function sourceLines(lines: SourceLine[] | ByteLines): SourceLine[] {
  return lines instanceof ByteLines ? lines.toLines() : lines;
}

/**
 * Called by a source for every chunk. The promise resolves once the chunk is durably on the bus;
 * only then may the source advance its persisted position. A rejection means "not delivered":
 * the source must keep the position and retry the same lines later.
 */
export type ChunkSink = (chunk: SourceChunk) => Promise<void>;

export interface LogSource {
  readonly kind: string;
  start(sink: ChunkSink): Promise<void>;
  /** Stops reading; waits for in-flight chunks to be settled and positions to be saved. */
  stop(): Promise<void>;
}

/** Builds a source from its kind-specific options (sources/<name>/index.ts exports one). */
export type SourceFactory<O> = (opts: O) => LogSource;
