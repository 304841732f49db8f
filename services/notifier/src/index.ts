export { startNotifier, MAX_HELD_PER_TARGET, type NotifierOptions, type NotifierService } from './notifier.js';
export { loadNotifierConfig, type NotifierConfig, type CommonSettings, type RateLimit, type DigestTime } from './config/notifier-config.js';
export { MAIL_ACTIONS, jailMailRoutes, type JailMailRoute } from './config/mail-actions.js';
export { CHANNELS } from './channels/registry.js';
export type { Channel, ChannelDefinition, Target, RoutedEvent } from './channels/types.js';
export { signPayload, verifySignature, SIGNATURE_HEADER, TIMESTAMP_HEADER, type WebhookPayload } from './channels/webhook/index.js';
export { slackPayload, type SlackPayload } from './channels/slack/index.js';
export { createReverseDns, type ReverseDns } from './reverse-dns.js';
export { NOTIFIER_BUCKET } from './delivery/done-log.js';
