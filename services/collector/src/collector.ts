import { join } from 'node:path';
import { describeError, isRecidiveJail, type JailConfig, type Service, type ServiceContext } from '@portcullis/shared';
import { createIngestServer, ingestConfig, ingestPublishers, type IngestServer } from './ingest/index.js';
import { PositionStore } from './positions/position-store.js';
import { publishChunk } from './publish-chunk.js';
import type { FilePattern } from './sources/file/index.js';
import { journalStreams } from './sources/journald/index.js';
import { syslogConfig } from './sources/syslog/index.js';
import { createSourceRegistry } from './sources/registry.js';
import type { LogSource } from './sources/source.js';

export interface CollectorOptions {
  /** Read existing files from their start on first start (`portcullis up --from-start`). */
  fromStart?: boolean;
}

/**
 * A file is read one chunk at a time: the chunk's range is saved as pending (two fsyncs), published
 * (split into messages of up to 1 MiB, see publish-chunk.ts) and acknowledged before the next is
 * read. That fixed cost of about 10 ms per chunk capped a backlog at about 100,000 lines/s with the
 * source's default 1000-line chunks; at 50,000 lines it is a few per cent. A live log at ordinary
 * rates still goes out within the source's batch delay (5 ms): these are only upper bounds.
 */
const FILE_BATCH_LINES = 50_000;
const FILE_BATCH_BYTES = 8 * 1024 * 1024;

/** Backends that read files; fail2ban's names, all served by our file source (inotify + polling). */
const FILE_BACKENDS = new Set(['auto', 'polling', 'pyinotify', 'gamin', 'file']);

/**
 * Groups the jails' logpaths into file patterns: one file watched by several jails is read once and
 * its lines carry every jail's name. A path's own fail2ban marker (`logpath = /x.log head|tail`)
 * decides where it is first read, over the jail's `fromstart`; `fromStart` (`up --from-start`)
 * reads every file from its start.
 */
export function filePatterns(jails: readonly JailConfig[], fromStart: boolean): FilePattern[] {
  const byGlob = new Map<string, FilePattern>();
  for (const j of jails) {
    // Recidive jails are fed by ban decisions, not by a log (see the banner).
    if (!j.enabled || !FILE_BACKENDS.has(j.backend) || isRecidiveJail(j)) continue;
    for (const glob of j.logpath) {
      const p = byGlob.get(glob) ?? { glob, jails: [], fromStart };
      if (!p.jails.includes(j.name)) p.jails.push(j.name);
      const marker = j.logpathStart?.[glob];
      p.fromStart ||= marker ? marker === 'head' : j.fromStart;
      byGlob.set(glob, p);
    }
  }
  return [...byGlob.values()];
}

/**
 * The collector reads the jails' logs and publishes their lines. A read position advances only
 * after JetStream stored the lines, so an outage of the bus delays detection and loses nothing.
 */
export async function startCollector(ctx: ServiceContext, opts: CollectorOptions = {}): Promise<Service> {
  const { bus, log, config, clock, stateDir } = ctx;
  const host = config.settings.host;
  const registry = createSourceRegistry();
  const sources: LogSource[] = [];

  const patterns = filePatterns(config.jails, opts.fromStart ?? false);
  if (patterns.length > 0) {
    const positions = await PositionStore.open(join(stateDir, 'collector', 'positions.json'), { log });
    sources.push(registry.getSourceFactory('file')({ patterns, positions, clock, log, batchMaxLines: FILE_BATCH_LINES, batchMaxBytes: FILE_BATCH_BYTES }));
  }
  // backend = systemd jails (fail2ban's journal backend).
  const streams = journalStreams(config.jails.filter((j) => j.enabled && !isRecidiveJail(j))).map((s) => ({ ...s, fromStart: s.fromStart || (opts.fromStart ?? false) }));
  if (streams.length > 0) {
    sources.push(registry.getSourceFactory('journald')({ streams, cursorFile: join(stateDir, 'collector', 'journal-cursors.json'), log, clock }));
  }
  const syslog = syslogConfig(config);
  if (syslog) sources.push(registry.getSourceFactory('syslog')({ ...syslog, log, clock }));
  let ingest: IngestServer | undefined;
  const ingestCfg = ingestConfig(config);
  if (ingestCfg) {
    ingest = createIngestServer({ ...ingestCfg, ...ingestPublishers(bus), log, hostName: host, clock });
    const addr = await ingest.listen();
    log.info(addr, 'HTTP ingest listening');
  }
  for (const s of sources) {
    await s.start(async (chunk) => {
      try {
        await publishChunk(bus, host, s.kind, chunk);
      } catch (e) {
        log.warn({ origin: chunk.origin, err: describeError(e) }, 'publishing lines failed; the source will retry them');
        throw e;
      }
    });
  }
  log.info({ files: patterns.map((p) => p.glob), journal: streams.length, syslog: !!syslog, ingest: !!ingest }, 'collector started');
  return {
    name: 'collector',
    stop: async () => {
      await ingest?.close();
      for (const s of sources) await s.stop();
    },
  };
}
