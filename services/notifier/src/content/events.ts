import type { BanDecisionV1, FlowAlertV1 } from '@portcullis/shared';

/** The event types a destination can subscribe to. */
export const EVENT_TYPES = ['ban', 'unban', 'flood', 'digest'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** One bus message a destination is told about. */
export type NotifyEvent =
  | { readonly type: 'ban' | 'unban'; readonly id: string; readonly at: number; readonly decision: BanDecisionV1 }
  | { readonly type: 'flood'; readonly id: string; readonly at: number; readonly alert: FlowAlertV1 };

export function decisionEvent(decision: BanDecisionV1): NotifyEvent {
  return { type: decision.kind, id: decision.id, at: decision.at, decision };
}

export function floodEvent(alert: FlowAlertV1): NotifyEvent {
  return { type: 'flood', id: alert.id, at: alert.at, alert };
}
