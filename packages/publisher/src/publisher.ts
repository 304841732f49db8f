import { hostname } from 'node:os';
import {
  CONTRACTS,
  connectBus,
  createLogger,
  encodeMessage,
  PortcullisError,
  publishDurable,
  subjectFor,
  SUBJECTS,
  subscribeCore,
  type BanDecisionV1,
  type Bus,
  type FailureEventV1,
  type LogBatchV1,
  type Logger,
} from '@portcullis/shared';
import { contentId } from './ids.js';
import { splitLines } from './line-parts.js';

export interface PublisherOptions {
  /** nats://host:4222 (several: comma-separated). */
  natsUrl: string;
  /** Host the failures and lines come from. Default: os.hostname(). */
  host?: string;
  /** `source` of what is published (1-32 characters). Default "app". */
  source?: string;
  /** A pino logger for connection events. Default: silent. */
  log?: Logger;
  /** How long createPublisher keeps trying to connect. Default 15 s. */
  connectTimeoutMs?: number;
}

/** One failed attempt of one address (a failed login, a bad API key...). */
export interface FailureReport {
  jail: string;
  ip: string;
  /** When it happened: epoch ms or a Date. Default: now. */
  at?: number | Date;
  user?: string;
  /** A line describing it, for the audit log and notifications (at most 4096 characters). */
  line?: string;
  /**
   * Unique id: the same id is counted once however often it is sent. Default: derived from the
   * report's content, so an identical report (same `at` included) is one failure.
   */
  id?: string;
  /** What saw it (default: the source, "app"). */
  origin?: string;
  fields?: Record<string, string>;
}

export interface Publisher {
  /** Resolves once JetStream stored the failure; rejects (PC_MESSAGE_INVALID) before sending anything invalid. */
  failure(ev: FailureReport): Promise<void>;
  /** Log lines for the jails' filters, as a collector would send them. Resolves once all are stored. */
  lines(jail: string | readonly string[], origin: string, lines: readonly string[]): Promise<void>;
  /** Calls `handler` for every ban and unban decided from now on (of one jail, or all). Returns the unsubscribe. */
  onDecision(handler: (d: BanDecisionV1) => void | Promise<void>, opts?: { jail?: string }): () => void;
  /** Unsubscribes and drains the connection. */
  close(): Promise<void>;
}

/**
 * A small typed client for Node applications: report failures and log lines to Portcullis over
 * NATS (JetStream, with Nats-Msg-Id for de-duplication) and hear its decisions. Everything is
 * validated against the bus contracts before it is sent.
 */
export async function createPublisher(opts: PublisherOptions): Promise<Publisher> {
  const host = opts.host ?? hostname();
  const source = opts.source ?? 'app';
  if (source.length < 1 || source.length > 32) throw new PortcullisError('PC_CONFIG_INVALID', `publisher: source must be 1 to 32 characters, got ${JSON.stringify(source)}`);
  const log = opts.log ?? createLogger({ service: 'publisher', level: 'silent' });
  const bus: Bus = await connectBus({ url: opts.natsUrl, name: `publisher@${host}`, log, ...(opts.connectTimeoutMs !== undefined ? { connectTimeoutMs: opts.connectTimeoutMs } : {}) });
  const subscriptions = new Set<{ stop(): void }>();

  return {
    async failure(r) {
      const at = r.at instanceof Date ? r.at.getTime() : (r.at ?? Date.now());
      const base = {
        v: 1 as const,
        jail: r.jail,
        ip: r.ip,
        at,
        host,
        source,
        origin: r.origin ?? source,
        producer: 'external' as const,
        ...(r.user !== undefined ? { user: r.user } : {}),
        ...(r.line !== undefined ? { line: r.line } : {}),
        ...(r.fields !== undefined ? { fields: r.fields } : {}),
      };
      const ev: FailureEventV1 = { ...base, id: r.id ?? contentId(`ext:${host}:`, base) };
      encodeMessage(CONTRACTS.failure, ev);
      await publishDurable(bus, CONTRACTS.failure, subjectFor(SUBJECTS.failures, ev.jail), ev, ev.id);
    },

    async lines(jail, origin, lines) {
      const jails = [...new Set(typeof jail === 'string' ? [jail] : jail)].sort();
      if (lines.length === 0) return;
      const readAt = Date.now();
      const id = contentId(`app:${host}:`, { origin, jails, lines });
      const parts = splitLines(lines);
      const batches: LogBatchV1[] = parts.map((p, i) => ({
        v: 1,
        id: parts.length === 1 ? id : `${id}#${i}`,
        host,
        source,
        origin,
        jails,
        lines: p.map((text) => ({ text, readAt })),
      }));
      // All parts are checked before the first is sent: an invalid call sends nothing.
      for (const b of batches) encodeMessage(CONTRACTS.logBatch, b);
      const subject = subjectFor(SUBJECTS.logLines, host);
      await Promise.all(batches.map((b) => publishDurable(bus, CONTRACTS.logBatch, subject, b, b.id)));
    },

    onDecision(handler, o = {}) {
      const subject = o.jail ? subjectFor(SUBJECTS.decisions, o.jail) : `${SUBJECTS.decisions}.>`;
      const sub = subscribeCore(bus, subject, CONTRACTS.decision, (d) => handler(d));
      subscriptions.add(sub);
      return () => {
        sub.stop();
        subscriptions.delete(sub);
      };
    },

    async close() {
      for (const s of subscriptions) s.stop();
      subscriptions.clear();
      await bus.close();
    },
  };
}
