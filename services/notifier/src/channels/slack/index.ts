import { createHash } from 'node:crypto';
import { redactUrl } from '../../config/urls.js';
import { registerChannel, type Channel, type Target } from '../types.js';
import { parseSlackConfig, SLACK_KEYS, type SlackConfig } from './config.js';
import { sendSlack } from './send.js';

export type { SlackConfig } from './config.js';
export { escapeSlack, slackPayload, type SlackPayload } from './format.js';

/** Slack-compatible incoming webhooks (also Mattermost, Rocket.Chat): one target per URL. */
export const slackChannel = registerChannel<SlackConfig>({
  name: 'slack',
  keys: SLACK_KEYS,
  parse: parseSlackConfig,
  create: (config): Channel => {
    const targets: Target[] = config.urls.map((url) => {
      // The URL is a secret: logs show its host and a short fingerprint instead.
      const fingerprint = createHash('sha256').update(url).digest('hex').slice(0, 8);
      const label = `slack ${redactUrl(url)} #${fingerprint}`;
      return {
        channel: 'slack',
        key: `slack:${url}`,
        label,
        types: config.events,
        wants: (event) => config.events.includes(event.type),
        send: (n) => sendSlack(n, { url, label, timeoutMs: config.timeoutMs }),
      };
    });
    return { name: 'slack', targets, close: async () => undefined };
  },
});
