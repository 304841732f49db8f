import { describeError, PortcullisError, type Redis } from '@portcullis/shared';
import { globalKeys } from '../store/keys.js';
import { readTrusted } from '../store/trust-ops.js';
import type { TrustedEntry, TrustGate } from '../store/types.js';
import { AddressSet } from './address-set.js';
import { normalizeIp, parseCidr } from './normalize-ip.js';

export interface DynamicTrustOptions {
  /** Default 'pc:' (the ban store's). */
  keyPrefix?: string;
  /** Safety-net poll of the version key, for notifications lost while reconnecting. Default 5 s. */
  pollMs?: number;
  /** A background refresh failed (the previous entries stay in force). */
  onError?: (e: PortcullisError) => void;
}

/**
 * The fleet-wide trusted entries added at run time (store.trustAndUnban), held in memory so a
 * lookup is synchronous. Kept current by a pub/sub notification on every change, with a poll of
 * the version every pollMs as a safety net; the store's ban scripts refuse to decide with an older
 * version than Redis has (TrustGate), so a notification in flight never lets a ban through.
 */
export interface DynamicTrust extends TrustGate {
  isTrusted(ip: string): boolean;
  version(): number;
  entries(): readonly TrustedEntry[];
  /** Reloads from Redis; resolves once a load that started after the call has finished. */
  refresh(): Promise<void>;
  stop(): Promise<void>;
}

export async function createDynamicTrust(redis: Redis, opts: DynamicTrustOptions = {}): Promise<DynamicTrust> {
  const keys = globalKeys(opts.keyPrefix ?? 'pc:');
  const pollMs = opts.pollMs ?? 5_000;
  if (!Number.isFinite(pollMs) || pollMs <= 0) throw new PortcullisError('PC_CONFIG_INVALID', `pollMs must be a positive number, got ${String(pollMs)}`);
  let loaded = { version: 0, entries: [] as TrustedEntry[], list: new AddressSet() };
  let running: Promise<void> | null = null;
  let next: Promise<void> | null = null;
  let stopped = false;

  async function load(): Promise<void> {
    const { version, entries } = await readTrusted(redis, keys);
    const list = new AddressSet();
    for (const e of entries) {
      try {
        if (e.entry.includes('/')) {
          const c = parseCidr(e.entry);
          list.addSubnet(c.address, c.prefix, c.family);
        } else {
          list.addAddress(normalizeIp(e.entry));
        }
      } catch (err) {
        opts.onError?.(new PortcullisError('PC_ADDRESS_INVALID', `trusted entry ${JSON.stringify(e.entry)} is unreadable: ${describeError(err)}`, { cause: err }));
      }
    }
    // a slow load must not replace a newer one
    if (version >= loaded.version) loaded = { version, entries, list };
  }

  function refresh(): Promise<void> {
    if (!running) {
      running = load().finally(() => (running = null));
      return running;
    }
    // a load is under way but may have read before the change we are told about: queue one more
    next ??= running.catch(() => undefined).then(() => {
      next = null;
      return refresh();
    });
    return next;
  }

  const background = (): void => {
    if (stopped) return;
    refresh().catch((e: unknown) => opts.onError?.(asError(e)));
  };

  // subscribed before the first load, so no change can fall between the two
  const sub = redis.duplicate();
  sub.on('error', () => undefined); // reconnects on its own; the poll covers the gap
  sub.on('message', background);
  sub.on('ready', background);
  try {
    await sub.subscribe(keys.trustChannel);
    await refresh();
  } catch (e) {
    sub.disconnect();
    throw asError(e);
  }
  const timer = setInterval(() => {
    redis
      .get(keys.trustVersion)
      .then((v) => {
        if (Number(v ?? 0) > loaded.version) background();
      })
      .catch((e: unknown) => opts.onError?.(asError(e)));
  }, pollMs);
  timer.unref();

  const isTrusted = (ipText: string): boolean => {
    const ip = normalizeIp(ipText);
    return loaded.list.size > 0 && loaded.list.has(ip);
  };

  return {
    isTrusted,
    version: () => loaded.version,
    entries: () => loaded.entries,
    refresh,
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      sub.disconnect();
      await running?.catch(() => undefined);
    },
  };
}

function asError(e: unknown): PortcullisError {
  return e instanceof PortcullisError ? e : new PortcullisError('PC_REDIS_UNAVAILABLE', `refreshing the trusted list failed: ${describeError(e)}`, { cause: e });
}
