import type { Clock } from '@portcullis/shared';
import type { Notification } from '../../content/notification.js';
import { postJson } from '../http-post.js';
import { webhookPayload } from './format.js';
import { signPayload } from './signature.js';

export interface WebhookSendOptions {
  url: string;
  label: string;
  secret: string;
  timeoutMs: number;
  clock: Clock;
}

export async function sendWebhook(n: Notification, opts: WebhookSendOptions): Promise<void> {
  const payload = webhookPayload(n);
  const body = JSON.stringify(payload);
  const timestamp = Math.floor(opts.clock.now() / 1000);
  await postJson(
    opts.url,
    opts.label,
    body,
    {
      'x-portcullis-event': payload.type,
      'x-portcullis-delivery': payload.id,
      'x-portcullis-timestamp': String(timestamp),
      'x-portcullis-signature': signPayload(opts.secret, timestamp, body),
    },
    opts.timeoutMs,
  );
}
