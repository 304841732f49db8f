import { createHash } from 'node:crypto';
import {
  CONTRACTS,
  consumeDurable,
  isRecidiveJail,
  publishDurable,
  subjectFor,
  SUBJECTS,
  type FailureEventV1,
  type JailConfig,
  type LogBatchV1,
  type Service,
  type ServiceContext,
} from '@portcullis/shared';
import { loadFilter, type CompiledFilter } from './filter/index.js';

/** Longest matched line carried in a failure event (the contract's bound). */
const MAX_EVENT_LINE = 4096;

/**
 * The matcher is stateless: it turns log batches into failure events with the jails' filters.
 * Several instances share the durable consumer, so adding instances adds throughput.
 */
export async function startMatcher(ctx: ServiceContext): Promise<Service> {
  const { bus, log, config, clock } = ctx;
  const filters = compileJailFilters(config.dir, config.jails.filter((j) => j.enabled && !isRecidiveJail(j)));
  const unknownJails = new Set<string>();

  const processBatch = async (batch: LogBatchV1): Promise<void> => {
    const events: FailureEventV1[] = [];
    for (const jail of batch.jails) {
      const filter = filters.get(jail);
      if (!filter) {
        if (!unknownJails.has(jail)) log.warn({ jail, host: batch.host }, 'lines for a jail this matcher does not run; skipped');
        unknownJails.add(jail);
        continue;
      }
      matchBatch(filter, jail, batch, clock.now(), events);
    }
    await Promise.all(events.map((ev) => publishDurable(bus, CONTRACTS.failure, subjectFor(SUBJECTS.failures, ev.jail), ev, ev.id)));
  };

  const consumption = await consumeDurable(bus, {
    stream: 'logs',
    durable: 'matcher',
    contract: CONTRACTS.logBatch,
    spanName: 'matcher.batch',
    handler: processBatch,
  });
  log.info({ jails: [...filters.keys()] }, 'matcher started');
  return { name: 'matcher', stop: () => consumption.stop() };
}

export function compileJailFilters(configDir: string, jails: readonly JailConfig[]): Map<string, CompiledFilter> {
  const out = new Map<string, CompiledFilter>();
  for (const jail of jails) {
    out.set(jail.name, loadFilter({ configDir, name: jail.filter.name, options: jail.filter.options, jailOptions: jail.options }));
  }
  return out;
}

function matchBatch(filter: CompiledFilter, jail: string, batch: LogBatchV1, now: number, out: FailureEventV1[]): void {
  for (let i = 0; i < batch.lines.length; i++) {
    const line = batch.lines[i]!;
    const r = filter.match(line.text, { now, source: `${batch.host}:${batch.origin}` });
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

