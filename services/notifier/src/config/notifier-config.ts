import { parseDuration, readConfigStack, type PortcullisConfig } from '@portcullis/shared';
import { CHANNELS } from '../channels/registry.js';
import type { ConfiguredChannel } from '../channels/types.js';
import { OptionReader } from './options.js';
import type { Env } from './secrets.js';

export interface RateLimit {
  /** At most this many notifications per target... */
  count: number;
  /** ...in any window of this length. */
  periodMs: number;
}

export interface DigestTime {
  hour: number;
  minute: number;
  second: number;
}

/** Settings every channel's targets share. */
export interface CommonSettings {
  host: string;
  /** At most one notification per target per window; what arrives meanwhile is summarized. */
  groupWindowMs: number;
  rateLimit: RateLimit | undefined;
  /** How many events a summary lists in full. */
  summarySample: number;
  retryMinMs: number;
  retryMaxMs: number;
  /** JetStream ack wait of the notifier's consumers: how soon a crashed notifier's work is redelivered. */
  ackWaitMs: number;
  reverseDns: boolean;
  reverseDnsTimeoutMs: number;
  /** Local time of the daily digest; undefined = no digest. */
  digestTime: DigestTime | undefined;
}

export interface NotifierConfig {
  common: CommonSettings;
  channels: readonly ConfiguredChannel[];
  /** Advice for the operator (readable secret files, plain http), logged at start. */
  warnings: readonly string[];
  /** The portcullis.* files read. */
  files: readonly string[];
}

export const COMMON_KEYS = [
  'group_window',
  'rate_limit',
  'summary_sample',
  'retry_min',
  'retry_max',
  'ack_wait',
  'reverse_dns',
  'reverse_dns_timeout',
  'digest_time',
] as const;

export interface LoadNotifierOptions {
  env?: Env;
}

/**
 * Reads and validates [notifier] of portcullis.conf / portcullis.local (and the fail2ban mail
 * actions of the jails) once, at start: every error is a PC_CONFIG_INVALID with file:line. The
 * result is frozen.
 */
export function loadNotifierConfig(config: PortcullisConfig, opts: LoadNotifierOptions = {}): NotifierConfig {
  const stack = readConfigStack(config.dir, 'portcullis');
  const options = new OptionReader(stack.sections);
  checkKnownKeys(options);
  const warnings: string[] = [];
  const common = parseCommon(options, config.settings.host);
  const input = { options, jails: config.jails, host: config.settings.host, env: opts.env ?? process.env, warnings };
  const channels: ConfiguredChannel[] = [];
  for (const channel of CHANNELS.values()) {
    const configured = channel.configure(input);
    if (configured) channels.push(configured);
  }
  return deepFreeze({ common, channels, warnings, files: stack.files });
}

function parseCommon(options: OptionReader, host: string): CommonSettings {
  const retryMinMs = options.durationMs('retry_min', '2s', { min: 0.1, max: 3600 });
  const retryMaxMs = options.durationMs('retry_max', '5m', { min: 0.1, max: 86400 });
  if (retryMaxMs < retryMinMs) throw options.error('retry_max', 'retry_max must not be below retry_min');
  return {
    host,
    groupWindowMs: options.durationMs('group_window', '60s', { min: 0, max: 86400 }),
    rateLimit: parseRateLimit(options),
    summarySample: options.int('summary_sample', 20, { min: 1, max: 200 }),
    retryMinMs,
    retryMaxMs,
    ackWaitMs: options.durationMs('ack_wait', '30s', { min: 2, max: 3600 }),
    reverseDns: options.bool('reverse_dns', true),
    reverseDnsTimeoutMs: options.durationMs('reverse_dns_timeout', '1.5s', { min: 0.05, max: 30 }),
    digestTime: parseDigestTime(options),
  };
}

function parseRateLimit(options: OptionReader): RateLimit | undefined {
  const text = options.text('rate_limit', '30/1h');
  if (/^(off|none|0)$/i.test(text)) return undefined;
  const m = /^(\d+)\s*\/\s*(.+)$/.exec(text);
  const count = m ? Number(m[1]) : NaN;
  if (!m || !Number.isSafeInteger(count) || count < 1) {
    throw options.error('rate_limit', `rate_limit ${JSON.stringify(text)} must be COUNT/PERIOD, e.g. 30/1h or 10/10m (or off)`);
  }
  const seconds = parseDuration(m[2] ?? '', options.ref('rate_limit'), 'rate_limit period');
  if (seconds <= 0) throw options.error('rate_limit', `rate_limit period must be positive, got ${JSON.stringify(m[2])}`);
  return { count, periodMs: Math.round(seconds * 1000) };
}

function parseDigestTime(options: OptionReader): DigestTime | undefined {
  const text = options.raw('digest_time');
  if (text === undefined || /^off$/i.test(text)) return undefined;
  const m = /^(\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(text);
  const [hour, minute, second] = [Number(m?.[1]), Number(m?.[2]), Number(m?.[3] ?? 0)];
  if (!m || hour > 23 || minute > 59 || second > 59) {
    throw options.error('digest_time', `digest_time ${JSON.stringify(text)} must be a local time HH:MM (or HH:MM:SS), e.g. 08:00, or off`);
  }
  return { hour, minute, second };
}

function checkKnownKeys(options: OptionReader): void {
  const known = new Set<string>([...COMMON_KEYS, ...[...CHANNELS.values()].flatMap((c) => c.keys)]);
  for (const key of options.ownKeys()) {
    if (known.has(key)) continue;
    if (key === 'smtp_password' || key === 'webhook_secret') {
      throw options.error(key, `${key} cannot be written in the config: put it in a file (${key}_file) or an environment variable (${key}_env)`);
    }
    const near = nearest(key, known);
    throw options.error(key, `unknown option ${key}${near ? ` (did you mean ${near}?)` : ''}`);
  }
}

function nearest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
