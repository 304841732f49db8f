import type { Clock, JailConfig, Logger } from '@portcullis/shared';
import type { EventType, NotifyEvent } from '../content/events.js';
import type { Notification } from '../content/notification.js';
import type { OptionReader } from '../config/options.js';
import type { Env } from '../config/secrets.js';

/** An event as routing sees it: a bus event, or the daily digest. */
export type RoutedEvent = NotifyEvent | { readonly type: 'digest' };

/**
 * One place a channel delivers to (an e-mail recipient, a webhook URL). Each target is grouped,
 * rate-limited, retried and deduplicated on its own.
 */
export interface Target {
  readonly channel: string;
  /** Stable identity across restarts (consumer names and dedupe keys derive from it). */
  readonly key: string;
  /** Safe for logs: no secrets (a Slack URL's path is one). */
  readonly label: string;
  /** The event types this target can want at all (decides which streams it consumes). */
  readonly types: readonly EventType[];
  wants(event: RoutedEvent): boolean;
  /** Resolves once the receiving server accepted the notification; throws otherwise. */
  send(notification: Notification): Promise<void>;
}

export interface Channel {
  readonly name: string;
  readonly targets: readonly Target[];
  close(): Promise<void>;
}

export interface ChannelParseInput {
  options: OptionReader;
  jails: readonly JailConfig[];
  /** This host's name (settings.host). */
  host: string;
  env: Env;
  /** Advice for the operator, logged at start. */
  warnings: string[];
}

export interface ChannelDeps {
  log: Logger;
  clock: Clock;
}

/**
 * A channel kind, registered by name. `parse` reads and validates its [notifier] options (all of
 * them, at start); `create` builds the running channel from that frozen config.
 */
export interface ChannelDefinition<C> {
  readonly name: string;
  /** The [notifier] keys this channel reads (unknown keys are refused). */
  readonly keys: readonly string[];
  /** Undefined when the channel is not configured. */
  parse(input: ChannelParseInput): C | undefined;
  create(config: C, deps: ChannelDeps): Channel;
}

/** A channel whose config has been validated, ready to start. */
export interface ConfiguredChannel {
  readonly name: string;
  readonly config: unknown;
  create(deps: ChannelDeps): Channel;
}

export interface RegisteredChannel {
  readonly name: string;
  readonly keys: readonly string[];
  configure(input: ChannelParseInput): ConfiguredChannel | undefined;
}

export function registerChannel<C>(def: ChannelDefinition<C>): RegisteredChannel {
  return {
    name: def.name,
    keys: def.keys,
    configure: (input) => {
      const config = def.parse(input);
      if (config === undefined) return undefined;
      return { name: def.name, config, create: (deps) => def.create(config, deps) };
    },
  };
}
