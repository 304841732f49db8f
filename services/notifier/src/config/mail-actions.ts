import { PortcullisError, splitWords, type JailConfig } from '@portcullis/shared';
import { isDisplayName, isEmailAddress, normalizeAddress, type Mailbox } from './addresses.js';

/**
 * fail2ban's mail actions. Portcullis does not run sendmail or mail: a jail that lists one of these
 * is mailed by the notifier, with the action's `dest`, `sender` and `sendername` as that jail's
 * recipients and From:. The variants differ in fail2ban only in what the mail shows (whois, lines,
 * buffering); the notifier's mails always show the matched lines and group bursts itself.
 */
export const MAIL_ACTIONS: ReadonlySet<string> = new Set([
  'sendmail',
  'sendmail-whois',
  'sendmail-whois-lines',
  'sendmail-whois-matches',
  'sendmail-whois-ipmatches',
  'sendmail-whois-ipjailmatches',
  'sendmail-geoip-lines',
  'sendmail-buffered',
  'mail',
  'mail-whois',
  'mail-whois-lines',
  'mail-buffered',
]);

export interface JailMailRoute {
  jail: string;
  /** The actions that asked for mail, for messages. */
  actions: string[];
  /** Recipients from `dest`; empty when no action set one (the [notifier] recipients apply). */
  recipients: string[];
  sender?: Mailbox;
}

/** fail2ban tags a mail action's values may still hold (`sender = root@<fq-hostname>`). */
function substituteTags(value: string, host: string): string {
  return value.replace(/<(fq-hostname|hostname)>/g, () => host);
}

/** The mail routes of the enabled jails, by jail name. */
export function jailMailRoutes(jails: readonly JailConfig[], host: string): Map<string, JailMailRoute> {
  const routes = new Map<string, JailMailRoute>();
  for (const jail of jails) {
    if (!jail.enabled) continue;
    for (const action of jail.actions) {
      if (!MAIL_ACTIONS.has(action.name)) continue;
      const route = routes.get(jail.name) ?? { jail: jail.name, actions: [], recipients: [] };
      routes.set(jail.name, route);
      route.actions.push(action.name);
      const fail = (why: string): PortcullisError =>
        new PortcullisError('PC_CONFIG_INVALID', `jail [${jail.name}], action ${action.name}: ${why}`, { location: jail.ref });
      const dest = action.options['dest'];
      if (dest !== undefined && dest.trim() !== '') {
        for (const raw of splitWords(substituteTags(dest, host))) {
          if (!isEmailAddress(raw)) {
            throw fail(`dest ${JSON.stringify(raw)} is not an e-mail address; write a full address such as root@localhost or ops@example.org`);
          }
          const address = normalizeAddress(raw);
          if (!route.recipients.includes(address)) route.recipients.push(address);
        }
      }
      const sender = action.options['sender'];
      if (sender !== undefined && sender.trim() !== '' && !route.sender) {
        const address = substituteTags(sender.trim(), host);
        if (!isEmailAddress(address)) throw fail(`sender ${JSON.stringify(address)} is not an e-mail address`);
        const name = action.options['sendername']?.trim();
        if (name !== undefined && name !== '' && !isDisplayName(name)) throw fail(`sendername ${JSON.stringify(name)} must be printable text without quotes or <>`);
        route.sender = name ? { address, name } : { address };
      }
    }
  }
  return routes;
}
