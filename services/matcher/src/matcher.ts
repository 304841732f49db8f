import { hash } from 'node:crypto';
import { isIP } from 'node:net';
import {
  CONTRACTS,
  decodeMessage,
  describeError,
  extractTrace,
  RejectCounter,
  withSpan,
  type BatchedFailure,
  type JailConfig,
  type LogBatchV1,
  type Redis,
  type Service,
  type ServiceContext,
} from '@portcullis/shared';
import { publishFailureBatches } from './failure-batches.js';
import { FilterCompileCache, loadFilter, type CompiledFilter } from './filter/index.js';
import { consumePartitions, DEFAULT_PARTITIONS, ensurePartitionStream, originalSubject, startRouter, type JsMsg } from './partitions.js';
import { RedisStateStore, type StateStore } from './state-store.js';

/** Longest matched line carried with a failure (the contract's bound). */
const MAX_EVENT_LINE = 4096;
/** Captures a failure carries as its own fields (`ip`, `user`), not again among `fields`. */
const CARRIED = new Set(['ip4', 'ip6', 'dns', 'fid', 'user']);

export interface MatcherOptions {
  /**
   * Keeps multi-line state between batches so several instances can share the work. Without it
   * the state stays in this process, which is right for a single matcher.
   */
  redis?: Redis;
  /** Partitions of the log stream (all instances must agree). */
  partitions?: number;
  /** Called after each batch this instance handled (metrics, tests). */
  onBatch?: (batch: LogBatchV1) => void;
}

export interface MatcherService extends Service {
  readonly stats: { batches: number; lines: number; failures: number };
}

/**
 * Turns log batches into failure batches with the jails' filters. Batches reach it through the
 * partitioned log stream (partitions.ts): lines of one source are handled in order, one batch at a
 * time, and several instances share the partitions.
 */
export async function startMatcher(ctx: ServiceContext, opts: MatcherOptions = {}): Promise<MatcherService> {
  const { bus, log, config, clock } = ctx;
  const filters = compileJailFilters(config.dir, config.jails.filter((j) => j.enabled));
  const store: StateStore | undefined = opts.redis ? new RedisStateStore(opts.redis) : undefined;
  const unknownJails = new Set<string>();
  const notAddresses = new RejectCounter();
  const partitions = opts.partitions ?? DEFAULT_PARTITIONS;
  const stats = { batches: 0, lines: 0, failures: 0 };

  const processBatch = async (batch: LogBatchV1): Promise<void> => {
    const source = sourceKey(batch);
    const published: Promise<void>[] = [];
    let failures = 0;
    for (const jail of batch.jails) {
      const filter = filters.get(jail);
      if (!filter) {
        if (!unknownJails.has(jail)) log.warn({ jail, host: batch.host }, 'lines for a jail this matcher does not run; skipped');
        unknownJails.add(jail);
        continue;
      }
      const keep = store !== undefined && filter.stateful;
      if (keep) filter.importState(source, await store.load(jail, source));
      const found = matchBatch(filter, jail, batch, clock.now(), (id) => {
        const { count, shouldLog } = notAddresses.record(jail);
        if (shouldLog) log.warn({ jail, host: batch.host, id: id.slice(0, 200), count }, 'a failure names no IP address (host name or failure id); it cannot be banned and is skipped');
      });
      if (keep) await store.save(jail, source, filter.exportState(source, clock.now()));
      // One message per log batch and jail (a few when they do not fit one): an acknowledgement and a
      // span for each, not for each failure.
      failures += found.length;
      published.push(publishFailureBatches(bus, { jail, host: batch.host, source: batch.source, origin: batch.origin, producer: 'log' }, found));
    }
    await Promise.all(published);
    stats.batches++;
    stats.lines += batch.lines.length;
    stats.failures += failures;
    opts.onBatch?.(batch);
  };

  const onMessage = async (m: JsMsg): Promise<void> => {
    let batch: LogBatchV1;
    try {
      batch = decodeMessage(CONTRACTS.logBatch, m.data);
    } catch (e) {
      const { count, shouldLog } = bus.rejects.record(CONTRACTS.logBatch.name);
      if (shouldLog) log.warn({ subject: originalSubject(m.subject), rejected: count, err: describeError(e) }, 'rejected invalid message');
      m.term();
      return;
    }
    try {
      await withSpan('matcher.batch', extractTrace(m.headers), { 'messaging.destination': originalSubject(m.subject) }, () => processBatch(batch));
      m.ack();
    } catch (e) {
      log.error({ subject: originalSubject(m.subject), err: describeError(e) }, 'batch failed; it will be retried');
      m.nak(Math.min(30_000, 500 * 2 ** Math.min(m.info.deliveryCount, 6)));
    }
  };

  await ensurePartitionStream(bus);
  const consumers = await consumePartitions(bus, partitions, onMessage);
  const router = await startRouter(bus, partitions);
  log.info({ jails: [...filters.keys()], partitions, sharedState: store !== undefined }, 'matcher started');
  return {
    name: 'matcher',
    stats,
    stop: async () => {
      await router.stop();
      await consumers.stop();
    },
  };
}

/** The state key of a log: host and origin (a file path, a journal unit...). */
export function sourceKey(batch: Pick<LogBatchV1, 'host' | 'origin'>): string {
  return `${batch.host}:${batch.origin}`;
}

/** Loads every jail's filter; the date templates and Unicode tables are built once for all. */
export function compileJailFilters(configDir: string, jails: readonly JailConfig[], cache = new FilterCompileCache()): Map<string, CompiledFilter> {
  const out = new Map<string, CompiledFilter>();
  for (const jail of jails) {
    out.set(jail.name, loadFilter({ configDir, name: jail.filter.name, options: jail.filter.options, jailOptions: jail.options, cache }));
  }
  return out;
}

function matchBatch(filter: CompiledFilter, jail: string, batch: LogBatchV1, now: number, onNotAddress: (id: string) => void): BatchedFailure[] {
  const ctx = { now, source: sourceKey(batch) };
  const out: BatchedFailure[] = [];
  // Deterministic: the same line of the same chunk always yields the same id, so a redelivered
  // batch is de-duplicated by the ban store. One hash per batch and jail, the line's index after it.
  const idPrefix = hash('sha256', `${batch.id}\0${jail}`, 'hex').slice(0, 32);
  // The filter's batch path: lines no pattern can match cost one literal test each.
  const results = filter.matchBatch(batch.lines.map((l) => l.text), ctx);
  for (let i = 0; i < batch.lines.length; i++) {
    const line = batch.lines[i]!;
    const r = results[i]!;
    if (r.kind !== 'failure') continue;
    // What the FailureBatch contract holds (it is encoded without the schema's pass, see
    // failure-batches.ts): an address (a host name or failure id cannot be banned), a whole epoch ms.
    if (isIP(r.id) === 0) {
      onNotAddress(r.id);
      continue;
    }
    const f: BatchedFailure = {
      id: `${idPrefix}-${i}`,
      ip: r.id,
      at: Number.isFinite(r.time) ? Math.max(0, Math.floor(r.time)) : Math.floor(now),
      line: line.text.length > MAX_EVENT_LINE ? line.text.slice(0, MAX_EVENT_LINE) : line.text,
    };
    if (r.user !== undefined) f.user = r.user.slice(0, 512);
    const fields = otherFields(r.fields);
    if (fields) f.fields = fields;
    out.push(f);
  }
  return out;
}

/** Captures carried besides the address and user (already in `ip` and `user`), bounded as the contract wants. */
function otherFields(fields: Record<string, string>): Record<string, string> | undefined {
  let out: Record<string, string> | undefined;
  for (const [k, v] of Object.entries(fields)) {
    if (CARRIED.has(k)) continue;
    (out ??= {})[k.slice(0, 64)] = v.slice(0, 1024);
  }
  return out;
}

