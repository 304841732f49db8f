/**
 * Redis key layout of the ban store. `P` is the key prefix (default `pc:`), `J` a jail name, `IP` a
 * canonical address (see normalizeIp). Every key of one jail carries the hash tag `{J}`, but the
 * scripts also write the fleet-wide audit stream, check the trust version, and (overalljails,
 * trustAndUnban) read other jails' keys, derived inside the script from the jail registry: the
 * store needs one Redis primary (standalone or Sentinel), not Redis Cluster. Expiries are relative
 * (PEXPIRE from the caller's clock), so skew between a banner host and Redis is harmless.
 *
 *   P{J}:fail:IP     ZSET  failure event id -> failure time (ms). The findtime window; expires
 *                          when the newest failure leaves it.
 *   P{J}:match:IP    HASH  failure event id -> JSON string[] of matched lines. Same lifetime as fail.
 *   P{J}:seen:IP     ZSET  failure event id -> time (ms) until which a replay is ignored. Outlives
 *                          fail (a ban clears fail), so a redelivered event is never counted twice;
 *                          trimmed on every write, expires with its latest member.
 *   P{J}:failing     ZSET  IP -> time (ms) its window becomes empty. "Currently failed"; trimmed on
 *                          every write, expires with its latest member.
 *   P{J}:bans        HASH  IP -> BanRecord JSON of the current ban.
 *   P{J}:due         ZSET  IP -> ban end (ms, +inf = permanent). Drives expiry. bans and due always
 *                          change together inside one script. No TTL: they hold only current bans,
 *                          permanent ones must never vanish, and expireDue removes the rest.
 *   P{J}:stats       HASH  totalFailed, totalBanned (lifetime counters, one small hash per jail).
 *   P{J}:off:IP      HASH  count, lastBanAt, lastUnbanAt, lastUnbanOrigin, lastUnbanBy: offence
 *                          history for escalation. Survives the ban; expires historyTtl after the
 *                          last ban/unban.
 *   Pjails           SET   names of jails that ever held state, for cross-jail reads, unban from
 *                          all jails and the expiry sweep. Bounded by the configured jails.
 *   Paudit           STREAM every ban, extension and unban (and trust changes), written by the same
 *                          script that changes the ban (bulk manual bans: right after, from
 *                          Pbulk-ban:pending); entry ids are the decision time (ms) in the
 *                          writer's clock, kept increasing. Capped with MAXLEN ~ (configurable).
 *   Pbulk-ban:pending LIST JSON journal entries of bulk manual bans (bulk-ban-script.ts): the audit
 *                          entries and offence history still to be written, each taken and written
 *                          once (settleBulkBans). Empty but for a moment after a bulk ban.
 *   Ptrusted         HASH  trusted address or CIDR (canonical) -> JSON {at, by, origin}: the fleet-wide
 *                          dynamic trust list. No TTL: entries stay until removed.
 *   Ptrusted:v       STRING version, incremented on every change; ban-deciding scripts refuse to
 *                          decide with an older version (see TrustGate).
 *   Ptrusted:changed pub/sub channel, published with the new version on every change.
 */
export interface JailKeys {
  fail(ip: string): string;
  match(ip: string): string;
  seen(ip: string): string;
  off(ip: string): string;
  failing: string;
  bans: string;
  due: string;
  stats: string;
}

export function jailKeys(prefix: string, jail: string): JailKeys {
  const base = `${prefix}{${jail}}:`;
  return {
    fail: (ip) => `${base}fail:${ip}`,
    match: (ip) => `${base}match:${ip}`,
    seen: (ip) => `${base}seen:${ip}`,
    off: (ip) => `${base}off:${ip}`,
    failing: `${base}failing`,
    bans: `${base}bans`,
    due: `${base}due`,
    stats: `${base}stats`,
  };
}

export function jailRegistryKey(prefix: string): string {
  return `${prefix}jails`;
}

export interface GlobalKeys {
  registry: string;
  audit: string;
  trusted: string;
  trustVersion: string;
  trustChannel: string;
}

export function globalKeys(prefix: string): GlobalKeys {
  return {
    registry: jailRegistryKey(prefix),
    audit: `${prefix}audit`,
    trusted: `${prefix}trusted`,
    trustVersion: `${prefix}trusted:v`,
    trustChannel: `${prefix}trusted:changed`,
  };
}
