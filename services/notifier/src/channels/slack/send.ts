import type { Notification } from '../../content/notification.js';
import { postJson } from '../http-post.js';
import { slackPayload } from './format.js';

export async function sendSlack(n: Notification, opts: { url: string; label: string; timeoutMs: number }): Promise<void> {
  await postJson(opts.url, opts.label, JSON.stringify(slackPayload(n)), {}, opts.timeoutMs);
}
