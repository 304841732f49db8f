import { readFileSync } from 'node:fs';
import type { EventType } from '../../content/events.js';
import { checkHttpUrl } from '../../config/urls.js';
import type { ChannelParseInput } from '../types.js';

export interface SlackConfig {
  urls: string[];
  events: EventType[];
  timeoutMs: number;
}

export const SLACK_KEYS = ['slack_urls', 'slack_url_file', 'slack_url_env', 'slack_events', 'slack_timeout'] as const;

/**
 * A Slack incoming-webhook URL is itself a secret, so besides `slack_urls` it can come from a file
 * (one URL per line) or an environment variable.
 */
export function parseSlackConfig({ options, env, warnings }: ChannelParseInput): SlackConfig | undefined {
  const found: { key: string; url: string }[] = (options.list('slack_urls') ?? []).map((url) => ({ key: 'slack_urls', url }));
  const file = options.raw('slack_url_file');
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw options.error('slack_url_file', `slack_url_file: cannot read ${file}: ${(e as Error).message}`, e);
    }
    const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
    if (lines.length === 0) throw options.error('slack_url_file', `slack_url_file: ${file} holds no URL`);
    found.push(...lines.map((url) => ({ key: 'slack_url_file', url })));
  }
  const variable = options.raw('slack_url_env');
  if (variable !== undefined) {
    const value = env[variable];
    if (value === undefined || value.trim() === '') throw options.error('slack_url_env', `slack_url_env: environment variable ${variable} is not set or empty`);
    found.push(...value.split(/[\s,]+/).filter((u) => u !== '').map((url) => ({ key: 'slack_url_env', url })));
  }
  if (found.length === 0) return undefined;
  const urls = [...new Set(found.map(({ key, url }) => checkHttpUrl(options, key, url)))];
  for (const url of urls) if (url.startsWith('http:')) warnings.push(`Slack webhook ${new URL(url).host} is plain http: its URL (a secret) crosses the network unencrypted`);
  return {
    urls,
    events: options.events('slack_events', ['ban', 'flood', 'digest']),
    timeoutMs: options.durationMs('slack_timeout', '10s', { min: 1, max: 300 }),
  };
}
