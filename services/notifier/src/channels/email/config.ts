import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { EVENT_TYPES, type EventType } from '../../content/events.js';
import { isDisplayName, isEmailAddress, normalizeAddress, type Mailbox } from '../../config/addresses.js';
import { jailMailRoutes } from '../../config/mail-actions.js';
import type { OptionReader } from '../../config/options.js';
import { readSecret } from '../../config/secrets.js';
import type { ChannelParseInput } from '../types.js';

export type StartTls = 'auto' | 'require' | 'off';

export interface SmtpConfig {
  host: string;
  port: number;
  /** Implicit TLS from the first byte (port 465). */
  secure: boolean;
  /** STARTTLS on a plain connection: use when offered (auto), insist (require), never (off). */
  starttls: StartTls;
  user?: string;
  password?: string;
  /** Check the server's certificate (default); off only for a trusted local relay. */
  tlsVerify: boolean;
  /** PEM of extra CAs to trust (a private relay's CA). */
  ca?: string;
  timeoutMs: number;
}

export interface JailEmailRoute {
  recipients: string[];
  sender?: Mailbox;
}

export interface EmailConfig {
  smtp: SmtpConfig;
  sender: Mailbox;
  events: EventType[];
  /** Default recipients. */
  recipients: string[];
  /** Recipients per event type, replacing the default for that type. */
  byType: Partial<Record<EventType, string[]>>;
  /** Per jail, from fail2ban mail actions: replaces the others for that jail's bans and unbans. */
  jails: Record<string, JailEmailRoute>;
}

export const EMAIL_KEYS = [
  'smtp_host',
  'smtp_port',
  'smtp_secure',
  'smtp_starttls',
  'smtp_user',
  'smtp_password_file',
  'smtp_password_env',
  'smtp_tls_verify',
  'smtp_tls_ca_file',
  'smtp_timeout',
  'sender',
  'sender_name',
  'recipients',
  'ban_recipients',
  'unban_recipients',
  'flood_recipients',
  'digest_recipients',
  'email_events',
] as const;

const HOST_RE = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

export function parseEmailConfig(input: ChannelParseInput): EmailConfig | undefined {
  const { options, host, env, warnings } = input;
  const addresses = (key: string): string[] | undefined => {
    const list = options.list(key);
    if (list === undefined) return undefined;
    return list.map((a) => {
      if (!isEmailAddress(a)) throw options.error(key, `${key}: ${JSON.stringify(a)} is not an e-mail address (write name@domain, separated by commas)`);
      return normalizeAddress(a);
    });
  };
  const recipients = addresses('recipients') ?? [];
  const byType: Partial<Record<EventType, string[]>> = {};
  for (const type of EVENT_TYPES) {
    const list = addresses(`${type}_recipients`);
    if (list !== undefined) byType[type] = list;
  }
  const routes = jailMailRoutes(input.jails, host);
  const jails: Record<string, JailEmailRoute> = {};
  for (const route of routes.values()) {
    if (route.recipients.length === 0) {
      if ((byType.ban ?? recipients).length === 0) {
        throw options.error(
          'recipients',
          `jail [${route.jail}] uses ${route.actions.join(', ')} without dest=, and [notifier] has no recipients: set dest=... in the action or recipients = ... here`,
        );
      }
      // No dest of its own: the jail mails the [notifier] recipients (routing falls through).
      if (route.sender) jails[route.jail] = { recipients: [], sender: route.sender };
      continue;
    }
    jails[route.jail] = route.sender ? { recipients: route.recipients, sender: route.sender } : { recipients: route.recipients };
  }
  const anyRecipient = recipients.length > 0 || Object.values(byType).some((l) => l.length > 0) || Object.values(jails).some((j) => j.recipients.length > 0);
  if (!anyRecipient) {
    const set = EMAIL_KEYS.filter((k) => options.raw(k) !== undefined);
    if (set.length > 0) warnings.push(`e-mail is off: ${set.join(', ')} set in [notifier] but no recipients (recipients = ...)`);
    return undefined;
  }

  const smtp = parseSmtp(options, env, warnings);
  const senderAddress = options.text('sender', `portcullis@${host.replace(/\.$/, '')}`);
  if (!isEmailAddress(senderAddress)) throw options.error('sender', `sender ${JSON.stringify(senderAddress)} is not an e-mail address`);
  const senderName = options.text('sender_name', 'Portcullis');
  if (!isDisplayName(senderName)) throw options.error('sender_name', `sender_name ${JSON.stringify(senderName)} must be printable text (no quotes, <> or control characters), at most 128 characters`);
  return {
    smtp,
    sender: { address: senderAddress, name: senderName },
    events: options.events('email_events', EVENT_TYPES),
    recipients,
    byType,
    jails,
  };
}

function parseSmtp(options: OptionReader, env: ChannelParseInput['env'], warnings: string[]): SmtpConfig {
  const host = options.text('smtp_host', 'localhost');
  if (isIP(host) === 0 && !HOST_RE.test(host)) throw options.error('smtp_host', `smtp_host ${JSON.stringify(host)} is not a host name or IP address`);
  const portText = options.raw('smtp_port');
  const secureSet = options.raw('smtp_secure') !== undefined;
  let port = options.int('smtp_port', 25, { min: 1, max: 65535 });
  const secure = options.bool('smtp_secure', portText !== undefined && port === 465);
  if (portText === undefined && secure) port = 465;
  const starttlsText = options.text('smtp_starttls', 'auto').toLowerCase();
  if (starttlsText !== 'auto' && starttlsText !== 'require' && starttlsText !== 'off') {
    throw options.error('smtp_starttls', `smtp_starttls must be auto, require or off, got ${JSON.stringify(starttlsText)}`);
  }
  if (secure && secureSet && starttlsText === 'require') {
    throw options.error('smtp_starttls', 'smtp_starttls = require makes no sense with smtp_secure = true (the connection is TLS from the start)');
  }
  const user = options.raw('smtp_user');
  const password = readSecret(options, { file: 'smtp_password_file', env: 'smtp_password_env' }, env, warnings);
  if (user !== undefined && password === undefined) throw options.error('smtp_user', 'smtp_user is set but no password: set smtp_password_file or smtp_password_env');
  if (user === undefined && password !== undefined) throw options.error('smtp_password_file', 'a SMTP password is set but smtp_user is not');
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  if (user !== undefined && /[\u0000-\u001f\u007f]/.test(user)) throw options.error('smtp_user', 'smtp_user must not contain control characters');
  const caFile = options.raw('smtp_tls_ca_file');
  let ca: string | undefined;
  if (caFile !== undefined) {
    try {
      ca = readFileSync(caFile, 'utf8');
    } catch (e) {
      throw options.error('smtp_tls_ca_file', `smtp_tls_ca_file: cannot read ${caFile}: ${(e as Error).message}`, e);
    }
    if (!ca.includes('-----BEGIN CERTIFICATE-----')) throw options.error('smtp_tls_ca_file', `smtp_tls_ca_file: ${caFile} holds no PEM certificate`);
  }
  const tlsVerify = options.bool('smtp_tls_verify', true);
  if (user !== undefined && !secure && starttlsText === 'off') {
    warnings.push('smtp_user is set with smtp_starttls = off and smtp_secure = false: the password crosses the network in clear text');
  }
  return {
    host,
    port,
    secure,
    starttls: starttlsText,
    ...(user !== undefined ? { user } : {}),
    ...(password !== undefined ? { password } : {}),
    tlsVerify,
    ...(ca !== undefined ? { ca } : {}),
    timeoutMs: options.durationMs('smtp_timeout', '30s', { min: 1, max: 600 }),
  };
}
