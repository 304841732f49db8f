import { createHash } from 'node:crypto';
import {
  CONTRACTS,
  decodeMessage,
  describeError,
  extractTrace,
  publishDurable,
  subjectFor,
  SUBJECTS,
  withSpan,
  type FailureEventV1,
  type JailConfig,
  type LogBatchV1,
  type Redis,
  type Service,
  type ServiceContext,
} from '@portcullis/shared';
import { FilterCompileCache, loadFilter, type CompiledFilter } from './filter/index.js';
import { consumePartitions, DEFAULT_PARTITIONS, ensurePartitionStream, originalSubject, startRouter, type JsMsg } from './partitions.js';
import { RedisStateStore, type StateStore } from './state-store.js';

/** Longest matched line carried in a failure event (the contract's bound). */
const MAX_EVENT_LINE = 4096;

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
 * Turns log batches into failure events with the jails' filters. Batches reach it through the
 * partitioned log stream (partitions.ts): lines of one source are handled in order, one batch at a
 * time, and several instances share the partitions.
 */
export async function startMatcher(ctx: ServiceContext, opts: MatcherOptions = {}): Promise<MatcherService> {
  const { bus, log, config, clock } = ctx;
  const filters = compileJailFilters(config.dir, config.jails.filter((j) => j.enabled));
  const store: StateStore | undefined = opts.redis ? new RedisStateStore(opts.redis) : undefined;
  const unknownJails = new Set<string>();
  const partitions = opts.partitions ?? DEFAULT_PARTITIONS;
  const stats = { batches: 0, lines: 0, failures: 0 };

  const processBatch = async (batch: LogBatchV1): Promise<void> => {
    const events: FailureEventV1[] = [];
    const source = sourceKey(batch);
    for (const jail of batch.jails) {
      const filter = filters.get(jail);
      if (!filter) {
        if (!unknownJails.has(jail)) log.warn({ jail, host: batch.host }, 'lines for a jail this matcher does not run; skipped');
        unknownJails.add(jail);
        continue;
      }
      const keep = store !== undefined && filter.stateful;
      if (keep) filter.importState(source, await store.load(jail, source));
      matchBatch(filter, jail, batch, clock.now(), events);
      if (keep) await store.save(jail, source, filter.exportState(source, clock.now()));
    }
    await Promise.all(events.map((ev) => publishDurable(bus, CONTRACTS.failure, subjectFor(SUBJECTS.failures, ev.jail), ev, ev.id)));
    stats.batches++;
    stats.lines += batch.lines.length;
    stats.failures += events.length;
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

function matchBatch(filter: CompiledFilter, jail: string, batch: LogBatchV1, now: number, out: FailureEventV1[]): void {
  const ctx = { now, source: sourceKey(batch) };
  for (let i = 0; i < batch.lines.length; i++) {
    const line = batch.lines[i]!;
    const r = filter.match(line.text, ctx);
    if (r.kind !== 'failure') continue;
    const ev: FailureEventV1 = {
      v: 1,
      // Deterministic: the same line of the same chunk always yields the same id, so a redelivered
      // batch is de-duplicated by JetStream and by the ban store.
      id: createHash('sha256').update(`${batch.id}\0${i}\0${jail}`).digest('hex').slice(0, 32),
      jail,
      ip: r.id,
      at: r.time,
      host: batch.host,
      source: batch.source,
      origin: batch.origin,
      line: line.text.length > MAX_EVENT_LINE ? line.text.slice(0, MAX_EVENT_LINE) : line.text,
      producer: 'log',
    };
    if (r.user !== undefined) ev.user = r.user.slice(0, 512);
    if (Object.keys(r.fields).length > 0) ev.fields = boundFields(r.fields);
    out.push(ev);
  }
}

function boundFields(fields: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(fields)) out[k.slice(0, 64)] = v.slice(0, 1024);
  return out;
}
