import { webhookLabel } from '../../config/urls.js';
import { registerChannel, type Channel, type Target } from '../types.js';
import { parseWebhookConfig, WEBHOOK_KEYS, type WebhookConfig } from './config.js';
import { sendWebhook } from './send.js';

export type { WebhookConfig } from './config.js';
export { signPayload, verifySignature, SIGNATURE_HEADER, TIMESTAMP_HEADER } from './signature.js';
export type { WebhookPayload } from './format.js';

/** Generic JSON webhooks, signed with HMAC-SHA256: one target per URL. */
export const webhookChannel = registerChannel<WebhookConfig>({
  name: 'webhook',
  keys: WEBHOOK_KEYS,
  parse: parseWebhookConfig,
  create: (config, deps): Channel => {
    const targets: Target[] = config.urls.map((url) => {
      const label = `webhook ${webhookLabel(url)}`;
      return {
        channel: 'webhook',
        key: `webhook:${url}`,
        label,
        types: config.events,
        wants: (event) => config.events.includes(event.type),
        send: (n) => sendWebhook(n, { url, label, secret: config.secret, timeoutMs: config.timeoutMs, clock: deps.clock }),
      };
    });
    return { name: 'webhook', targets, close: async () => undefined };
  },
});
