import { join } from 'node:path';
import { describeError, type JailConfig, type Service, type ServiceContext } from '@portcullis/shared';
import { PositionStore } from './positions/position-store.js';
import { publishChunk } from './publish-chunk.js';
import type { FilePattern } from './sources/file/index.js';
import { createSourceRegistry } from './sources/registry.js';
import type { LogSource } from './sources/source.js';

export interface CollectorOptions {
  /** Read existing files from their start on first start (`portcullis up --from-start`). */
  fromStart?: boolean;
}

/** Backends that read files; fail2ban's names, all served by our file source (inotify + polling). */
const FILE_BACKENDS = new Set(['auto', 'polling', 'pyinotify', 'gamin', 'file']);

/**
 * Groups the jails' logpaths into file patterns: one file watched by several jails is read once and
 * its lines carry every jail's name.
 */
export function filePatterns(jails: readonly JailConfig[], fromStart: boolean): FilePattern[] {
  const byGlob = new Map<string, FilePattern>();
  for (const j of jails) {
    if (!j.enabled || !FILE_BACKENDS.has(j.backend)) continue;
    for (const glob of j.logpath) {
      const p = byGlob.get(glob) ?? { glob, jails: [], fromStart };
      if (!p.jails.includes(j.name)) p.jails.push(j.name);
      p.fromStart ||= j.fromStart;
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

  for (const j of config.jails) {
    if (j.enabled && !FILE_BACKENDS.has(j.backend)) {
      log.error({ jail: j.name, backend: j.backend }, `jail ${j.name}: backend "${j.backend}" is not available in this collector; its logs are not read`);
    }
  }
  const patterns = filePatterns(config.jails, opts.fromStart ?? false);
  if (patterns.length > 0) {
    const positions = await PositionStore.open(join(stateDir, 'collector', 'positions.json'), { log });
    sources.push(registry.getSourceFactory('file')({ patterns, positions, clock, log }));
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
  log.info({ files: patterns.map((p) => p.glob) }, 'collector started');
  return {
    name: 'collector',
    stop: async () => {
      for (const s of sources) await s.stop();
    },
  };
}
