import type { BanDecisionV1, FlowAlertV1 } from '@portcullis/shared';
import { describe } from '../../content/describe.js';
import type { NotifyEvent } from '../../content/events.js';
import type { Notification } from '../../content/notification.js';
import type { BatchSummary } from '../../content/summary.js';
import type { DigestReport } from '../../digest/report.js';
import { renderText } from '../email/format.js';

/** The generic webhook body: the bus data as it came, plus a one-line subject and a text rendering. */
export interface WebhookPayload {
  v: 1;
  /** Same id on a retry: receivers deduplicate on it (also sent as X-Portcullis-Delivery). */
  id: string;
  type: 'ban' | 'unban' | 'flood' | 'summary' | 'digest';
  host: string;
  subject: string;
  text: string;
  decision?: BanDecisionV1;
  reverseDns?: string | null;
  alert?: FlowAlertV1;
  summary?: Omit<BatchSummary, 'sample'> & { sample: WebhookEvent[] };
  digest?: DigestReport;
}

export type WebhookEvent = { type: 'ban' | 'unban'; decision: BanDecisionV1 } | { type: 'flood'; alert: FlowAlertV1 };

function eventOf(e: NotifyEvent): WebhookEvent {
  return e.type === 'flood' ? { type: 'flood', alert: e.alert } : { type: e.type, decision: e.decision };
}

export function webhookPayload(n: Notification): WebhookPayload {
  const doc = describe(n);
  const base = { v: 1 as const, id: n.id, host: n.host, subject: doc.subject, text: renderText(doc) };
  switch (n.kind) {
    case 'event': {
      const e = n.event;
      if (e.type === 'flood') return { ...base, type: 'flood', alert: e.alert };
      return { ...base, type: e.type, decision: e.decision, ...(n.reverseDns !== undefined ? { reverseDns: n.reverseDns } : {}) };
    }
    case 'summary':
      return { ...base, type: 'summary', summary: { ...n.summary, sample: n.summary.sample.map(eventOf) } };
    case 'digest':
      return { ...base, type: 'digest', digest: n.digest };
  }
}
