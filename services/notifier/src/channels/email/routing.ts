import type { Mailbox } from '../../config/addresses.js';
import type { EventType } from '../../content/events.js';
import type { Notification } from '../../content/notification.js';
import type { RoutedEvent } from '../types.js';
import type { EmailConfig, JailEmailRoute } from './config.js';

/** A jail's own route, looked up without trusting the jail name from the bus (e.g. "__proto__"). */
function jailRoute(config: EmailConfig, jail: string): JailEmailRoute | undefined {
  return Object.hasOwn(config.jails, jail) ? config.jails[jail] : undefined;
}

/**
 * Who gets an event: a jail's own recipients (fail2ban mail action dest) win for its bans and
 * unbans, then the recipients for the event type, then the default recipients.
 */
export function recipientsFor(config: EmailConfig, event: RoutedEvent): readonly string[] {
  if (!config.events.includes(event.type)) return [];
  if (event.type === 'ban' || event.type === 'unban') {
    const own = jailRoute(config, event.decision.jail);
    if (own && own.recipients.length > 0) return own.recipients;
  }
  return config.byType[event.type] ?? config.recipients;
}

/** Whether any event of `type` can reach `recipient` (a jail's own recipients count for ban and unban). */
export function mayReceive(config: EmailConfig, type: EventType, recipient: string): boolean {
  if (!config.events.includes(type)) return false;
  if ((config.byType[type] ?? config.recipients).includes(recipient)) return true;
  return (type === 'ban' || type === 'unban') && Object.values(config.jails).some((j) => j.recipients.includes(recipient));
}

/** Every address any event can go to: one target each. */
export function allRecipients(config: EmailConfig): string[] {
  const all = new Set<string>(config.recipients);
  for (const list of Object.values(config.byType)) for (const a of list) all.add(a);
  for (const route of Object.values(config.jails)) for (const a of route.recipients) all.add(a);
  return [...all];
}

/** A jail's sender when every decision of the notification comes from jails that agree on one. */
export function senderFor(config: EmailConfig, n: Notification): Mailbox {
  const events = n.kind === 'event' ? [n.event] : n.kind === 'summary' ? n.events : [];
  let chosen: Mailbox | undefined;
  for (const e of events) {
    if (e.type === 'flood') return config.sender;
    const own = jailRoute(config, e.decision.jail)?.sender;
    if (!own) return config.sender;
    if (chosen && (chosen.address !== own.address || chosen.name !== own.name)) return config.sender;
    chosen = own;
  }
  return chosen ?? config.sender;
}
