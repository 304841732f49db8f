import { PortcullisError, type Clock, type Redis } from '@portcullis/shared';
import { globalKeys, jailKeys, type GlobalKeys, type JailKeys } from './keys.js';
import { withRedis } from './script-runner.js';
import type { TrustGate } from './types.js';
import { checkJail, cleanText } from './validate.js';

export interface BanStoreOptions {
  clock: Clock;
  /** Default 'pc:'. */
  keyPrefix?: string;
  /**
   * How long offence history outlives the last ban or unban, for escalation, for jails not in
   * historyTtlByJail. Default 30 days.
   */
  historyTtlSeconds?: number;
  /** Per-jail history lifetimes in seconds (see escalation/history-ttl.ts). */
  historyTtlByJail?: ReadonlyMap<string, number>;
  /** Host name of this banner: `decidedBy` in audit entries. */
  host?: string;
  /** Approximate bound of the audit stream (XADD MAXLEN ~). Default 100,000 entries. */
  auditMaxLen?: number;
  /** [0, 1) for bantime.rndtime. Default Math.random. */
  random?: () => number;
  /** The fleet-wide dynamic trust list; without it bans are decided without that check. */
  trustGate?: TrustGate;
}

/** What the store's operations share. Internal to the store. */
export interface StoreContext {
  redis: Redis;
  clock: Clock;
  prefix: string;
  global: GlobalKeys;
  host: string;
  auditMaxLen: string;
  random: () => number;
  trustGate: TrustGate | undefined;
  keysOf(jail: string): JailKeys;
  historyTtlMs(jail: string): number;
  /** The JSON of all per-jail history lifetimes (ms), for scripts that span jails. */
  historyTtlJson: string;
  defaultHistoryTtlMs: number;
  now(): number;
  register(jail: string): Promise<void>;
  jails(): Promise<string[]>;
}

const DEFAULT_HISTORY_TTL_S = 30 * 24 * 3600;
const DEFAULT_AUDIT_MAXLEN = 100_000;

export function createStoreContext(redis: Redis, opts: BanStoreOptions): StoreContext {
  const prefix = opts.keyPrefix ?? 'pc:';
  const toMs = (s: number, what: string): number => {
    if (!Number.isFinite(s) || s <= 0) throw new PortcullisError('PC_CONFIG_INVALID', `${what} must be a positive number, got ${String(s)}`);
    return Math.round(s * 1000);
  };
  const defaultHistoryTtlMs = toMs(opts.historyTtlSeconds ?? DEFAULT_HISTORY_TTL_S, 'historyTtlSeconds');
  const perJail = new Map<string, number>();
  for (const [jail, s] of opts.historyTtlByJail ?? []) perJail.set(checkJail(jail), toMs(s, `history lifetime of jail ${jail}`));
  const auditMaxLen = opts.auditMaxLen ?? DEFAULT_AUDIT_MAXLEN;
  if (!Number.isSafeInteger(auditMaxLen) || auditMaxLen < 1) {
    throw new PortcullisError('PC_CONFIG_INVALID', `auditMaxLen must be a positive integer, got ${String(auditMaxLen)}`);
  }
  const global = globalKeys(prefix);
  return {
    redis,
    clock: opts.clock,
    prefix,
    global,
    host: cleanText(opts.host ?? '', 128),
    auditMaxLen: String(auditMaxLen),
    random: opts.random ?? Math.random,
    trustGate: opts.trustGate,
    keysOf: (jail) => jailKeys(prefix, checkJail(jail)),
    historyTtlMs: (jail) => perJail.get(jail) ?? defaultHistoryTtlMs,
    historyTtlJson: JSON.stringify(Object.fromEntries(perJail)),
    defaultHistoryTtlMs,
    now: () => Math.floor(opts.clock.now()),
    register: async (jail) => {
      await withRedis('jail registration', () => redis.sadd(global.registry, jail));
    },
    jails: async () => (await withRedis('jail listing', () => redis.smembers(global.registry))).sort(),
  };
}
