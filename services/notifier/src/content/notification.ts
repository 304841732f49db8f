import { createHash } from 'node:crypto';
import type { DigestReport } from '../digest/report.js';
import type { NotifyEvent } from './events.js';
import { summarize, type BatchSummary } from './summary.js';

/** What a channel is asked to deliver: one event, a summary of a group of events, or a digest. */
export type Notification =
  | {
      readonly kind: 'event';
      readonly id: string;
      /** The host the notifier runs on. */
      readonly host: string;
      readonly event: NotifyEvent;
      /** Reverse DNS of a ban's address: a name, null when none resolved in time, undefined when not looked up. */
      readonly reverseDns?: string | null;
    }
  | {
      readonly kind: 'summary';
      readonly id: string;
      readonly host: string;
      readonly summary: BatchSummary;
      readonly events: readonly NotifyEvent[];
      /** The grouping window, for the reader: "at most one message every ...". */
      readonly windowMs: number;
    }
  | { readonly kind: 'digest'; readonly id: string; readonly host: string; readonly digest: DigestReport };

export type NotificationKind = Notification['kind'];

/**
 * The same destination and the same events always give the same id: a batch re-sent after a crash
 * carries the Message-ID / delivery id it had the first time, so a receiver can drop the copy.
 */
export function notificationId(targetKey: string, eventIds: readonly string[]): string {
  const h = createHash('sha256').update(targetKey).update('\0');
  for (const id of [...eventIds].sort()) h.update(id).update('\0');
  return h.digest('hex').slice(0, 32);
}

export interface BuildOptions {
  targetKey: string;
  host: string;
  sampleSize: number;
  windowMs: number;
}

/** One event alone is sent in full; two or more become one summary with exact counts. */
export function buildNotification(events: readonly NotifyEvent[], opts: BuildOptions, reverseDns?: string | null): Notification {
  const id = notificationId(
    opts.targetKey,
    events.map((e) => e.id),
  );
  const only = events.length === 1 ? events[0] : undefined;
  if (only) return { kind: 'event', id, host: opts.host, event: only, ...(reverseDns !== undefined ? { reverseDns } : {}) };
  return { kind: 'summary', id, host: opts.host, summary: summarize(events, opts.sampleSize), events, windowMs: opts.windowMs };
}

export function summaryOf(n: Notification): BatchSummary | undefined {
  return n.kind === 'summary' ? n.summary : undefined;
}
