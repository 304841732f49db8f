import { EVENT_TYPES, type EventType } from '../../content/events.js';
import { readSecret } from '../../config/secrets.js';
import { checkHttpUrl } from '../../config/urls.js';
import type { ChannelParseInput } from '../types.js';

export interface WebhookConfig {
  urls: string[];
  /** HMAC-SHA256 key for the signature header. */
  secret: string;
  events: EventType[];
  timeoutMs: number;
}

export const WEBHOOK_KEYS = ['webhook_urls', 'webhook_secret_file', 'webhook_secret_env', 'webhook_events', 'webhook_timeout'] as const;

export function parseWebhookConfig({ options, env, warnings }: ChannelParseInput): WebhookConfig | undefined {
  const list = options.list('webhook_urls');
  if (list === undefined || list.length === 0) return undefined;
  const urls = [...new Set(list.map((u) => checkHttpUrl(options, 'webhook_urls', u)))];
  const secret = readSecret(options, { file: 'webhook_secret_file', env: 'webhook_secret_env' }, env, warnings);
  if (secret === undefined) {
    throw options.error('webhook_urls', 'webhook_urls is set but no signing key: set webhook_secret_file or webhook_secret_env (receivers verify X-Portcullis-Signature with it)');
  }
  if (secret.length < 16) throw options.error('webhook_secret_file', 'the webhook signing key must be at least 16 characters');
  for (const url of urls) if (url.startsWith('http:')) warnings.push(`webhook ${new URL(url).host} is plain http: events cross the network unencrypted`);
  return {
    urls,
    secret,
    events: options.events('webhook_events', EVENT_TYPES),
    timeoutMs: options.durationMs('webhook_timeout', '10s', { min: 1, max: 300 }),
  };
}
