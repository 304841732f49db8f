import { emailChannel } from './email/index.js';
import { slackChannel } from './slack/index.js';
import type { RegisteredChannel } from './types.js';
import { webhookChannel } from './webhook/index.js';

/** Every channel kind, by name. A new channel is a folder under channels/ and one line here. */
export const CHANNELS: ReadonlyMap<string, RegisteredChannel> = new Map(
  [emailChannel, webhookChannel, slackChannel].map((c) => [c.name, c] as const),
);
