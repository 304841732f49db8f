import { BlockList } from 'node:net';
import { describeError, type Clock, type Logger, type Redis } from '@portcullis/shared';
import { ipFamily, mappedIpv6, parseCidr } from './normalize-ip.js';

/**
 * In a fleet, any banner may decide on a failure another host saw. Whether the failure counts is
 * for the trust list of the host that saw it (its ignoreip, its own addresses), not for whichever
 * banner happened to pick it up; every host still refuses to enforce what it trusts itself. So each
 * banner publishes its per-jail trust snapshot in Redis, and deciders read other hosts' snapshots.
 */
export interface HostTrustRegistry {
  /** True/false: that host's verdict; undefined: the host has published nothing for this jail. */
  trustedBy(host: string, jail: string, ip: string): Promise<boolean | undefined>;
  stop(): void;
}

interface Snapshot {
  at: number;
  jails: Record<string, string[]>;
}

const TTL_S = 600;
const PUBLISH_EVERY_MS = 60_000;
const CACHE_MS = 30_000;

export async function createHostTrustRegistry(deps: {
  redis: Redis;
  host: string;
  clock: Clock;
  log: Logger;
  /** This host's jails and their current trust snapshot. */
  local: () => Record<string, string[]>;
  keyPrefix?: string;
}): Promise<HostTrustRegistry> {
  const key = (host: string) => `${deps.keyPrefix ?? 'pc:'}trust:host:${host}`;
  const publish = async () => {
    const snap: Snapshot = { at: deps.clock.now(), jails: deps.local() };
    await deps.redis.set(key(deps.host), JSON.stringify(snap), 'EX', TTL_S);
  };
  await publish();
  const timer = setInterval(() => {
    publish().catch((e: unknown) => deps.log.warn({ err: describeError(e) }, 'publishing the trust snapshot failed; will retry'));
  }, PUBLISH_EVERY_MS);
  timer.unref();

  const cache = new Map<string, { fetchedAt: number; lists: Map<string, BlockList> | null }>();
  const load = async (host: string): Promise<Map<string, BlockList> | null> => {
    const hit = cache.get(host);
    if (hit && deps.clock.now() - hit.fetchedAt < CACHE_MS) return hit.lists;
    const raw = await deps.redis.get(key(host));
    let lists: Map<string, BlockList> | null = null;
    if (raw) {
      try {
        lists = toBlockLists(JSON.parse(raw) as Snapshot);
      } catch (e) {
        deps.log.warn({ host, err: describeError(e) }, 'unreadable trust snapshot of another host; using this host\'s trust list');
      }
    }
    cache.set(host, { fetchedAt: deps.clock.now(), lists });
    return lists;
  };

  return {
    async trustedBy(host, jail, ip) {
      const lists = await load(host);
      const list = lists?.get(jail);
      if (!list) return undefined;
      return ipFamily(ip) === 'ipv6' ? list.check(ip, 'ipv6') : list.check(ip, 'ipv4') || list.check(mappedIpv6(ip), 'ipv6');
    },
    stop: () => clearInterval(timer),
  };
}

function toBlockLists(snap: Snapshot): Map<string, BlockList> {
  const out = new Map<string, BlockList>();
  for (const [jail, entries] of Object.entries(snap.jails)) {
    const bl = new BlockList();
    for (const e of entries) {
      if (e.includes('/')) {
        const c = parseCidr(e);
        bl.addSubnet(c.address, c.prefix, c.family);
      } else bl.addAddress(e, ipFamily(e));
    }
    out.set(jail, bl);
  }
  return out;
}
