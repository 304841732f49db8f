import type { Redis } from '@portcullis/shared';
import { normalizeIp } from '../trust/normalize-ip.js';
import { activeBansScript, expireDueScript, unbanScript } from './ban-scripts.js';
import { activeBanEnds } from './active-ban-ends.js';
import { bulkBan, settleBulkBans, type BulkBanOutcome } from './bulk-ban.js';
import { manualBan } from './manual-ban.js';
import { decodeBanRecord, parseScore } from './record-codec.js';
import { feedRecidive, recordFailure } from './record-failure.js';
import { feedRecidiveMany, recordFailures } from './record-failures.js';
import { runScript, withRedis } from './script-runner.js';
import { createStoreContext, type BanStoreOptions } from './store-context.js';
import { readTrusted, trustAndUnban, untrust } from './trust-ops.js';
import type {
  BanEnd,
  BanRecord,
  FailureBatchInput,
  FailureBatchResult,
  FailureInput,
  FailureResult,
  JailStoreStatus,
  ManualBanInput,
  ManualBanResult,
  OffenceHistory,
  RecidiveTarget,
  TrustAndUnbanResult,
  TrustedEntry,
  TrustInput,
  UnbanInput,
} from './types.js';
import { checkJail, checkOrigin, checkTime, cleanText } from './validate.js';

export type { BanStoreOptions } from './store-context.js';
export type { BulkBanOutcome } from './bulk-ban.js';

export interface BanStore {
  /** One failure; decides (and audits) the ban when maxretry is reached, escalated by f.escalation. */
  recordFailure(f: FailureInput): Promise<FailureResult>;
  /**
   * Many failures of one jail, each with the outcome recordFailure would give it in that order, in a
   * few script calls (see record-failures.ts). Failures a Redis error kept from being recorded come
   * back as null, with the error; the others are recorded.
   */
  recordFailures(b: FailureBatchInput): Promise<FailureBatchResult>;
  /** Feeds a ban decided in another jail to a recidive-like jail; may decide the recidive ban. */
  feedRecidive(ban: BanRecord, target: RecidiveTarget): Promise<FailureResult>;
  /** feedRecidive for many bans at once (results per ban, in order), as recordFailures records failures. */
  feedRecidiveMany(bans: readonly BanRecord[], target: RecidiveTarget): Promise<FailureBatchResult>;
  ban(jail: string, ip: string, opts: ManualBanInput): Promise<ManualBanResult>;
  /**
   * ban() for many addresses of one jail, a few script calls for all of them (see bulk-ban.ts).
   * An address on the fleet-wide trusted list comes back as `{ ip, trusted: true }`. The bans are
   * decided and stored when it resolves; their audit entries and offence history are written right
   * behind (settleBulkBans).
   */
  banMany(jail: string, ips: readonly string[], opts: ManualBanInput, onChunk?: (outcomes: BulkBanOutcome[]) => Promise<void>): Promise<BulkBanOutcome[]>;
  /**
   * Writes the audit entries and offence history of bulk bans still pending (banMany decides and
   * stores the bans, and writes those right behind them; see bulk-ban-script.ts). Any banner may
   * call it, each is written once. Resolves with the number of addresses written.
   */
  settleBulkBans(): Promise<number>;
  /** jail null: every jail. Returns the bans that were removed. */
  unban(jail: string | null, ip: string, opts: UnbanInput): Promise<BanRecord[]>;
  activeBans(jail?: string): Promise<BanRecord[]>;
  /** Jail, address and end of every running ban (of one jail or all), without the records: for enforcement. */
  activeBanEnds(jail?: string): Promise<BanEnd[]>;
  getBan(jail: string, ip: string): Promise<BanRecord | null>;
  status(jail: string): Promise<JailStoreStatus>;
  /** Claims every ban whose end is <= now; each is returned to exactly one caller across instances. */
  expireDue(now: number): Promise<BanRecord[]>;
  /** Bans of ip in jail (or summed over all jails) within the history window. */
  banCount(ip: string, jail?: string): Promise<number>;
  history(jail: string, ip: string): Promise<OffenceHistory>;
  /** Jails that ever held state in this store. */
  jails(): Promise<string[]>;
  /** Trusts an address or CIDR range fleet-wide and removes all its bans in every jail, atomically. */
  trustAndUnban(entry: string, opts: TrustInput): Promise<TrustAndUnbanResult>;
  /** Removes a fleet-wide trusted entry (bans are not restored). */
  untrust(entry: string, opts: TrustInput): Promise<{ entry: string; removed: boolean; version: number }>;
  trusted(): Promise<{ version: number; entries: TrustedEntry[] }>;
}

const EXPIRE_BATCH = 1000;

export function createBanStore(redis: Redis, opts: BanStoreOptions): BanStore {
  const ctx = createStoreContext(redis, opts);
  const { keysOf, now } = ctx;

  async function unban(jail: string | null, ipText: string, o: UnbanInput): Promise<BanRecord[]> {
    const ip = normalizeIp(ipText);
    const origin = checkOrigin(o.origin);
    const by = o.by === undefined ? '' : cleanText(o.by, 256);
    const reason = cleanText(o.reason ?? 'manual unban');
    const targets = jail === null ? await ctx.jails() : [checkJail(jail)];
    const t = String(now());
    const removed = await Promise.all(
      targets.map(async (j) => {
        const k = keysOf(j);
        const json = await runScript(
          redis,
          unbanScript,
          [k.bans, k.due, k.fail(ip), k.match(ip), k.failing, k.off(ip), ctx.global.audit],
          [ip, t, origin, by, String(ctx.historyTtlMs(j)), ctx.auditMaxLen, ctx.host, j, reason],
        );
        return typeof json === 'string' ? decodeBanRecord(json) : null;
      }),
    );
    return removed.filter((r): r is BanRecord => r !== null);
  }

  async function activeBans(jail?: string): Promise<BanRecord[]> {
    const targets = jail === undefined ? await ctx.jails() : [checkJail(jail)];
    const t = String(now());
    const perJail = await Promise.all(
      targets.map(async (j) => {
        const k = keysOf(j);
        const list = (await runScript(redis, activeBansScript, [k.bans, k.due], [t])) as string[];
        return list.map(decodeBanRecord);
      }),
    );
    return perJail.flat();
  }

  async function getBan(jail: string, ipText: string): Promise<BanRecord | null> {
    const ip = normalizeIp(ipText);
    const k = keysOf(jail);
    const [score, json] = await withRedis('ban lookup', async () => execResults(await redis.multi().zscore(k.due, ip).hget(k.bans, ip).exec()));
    if (typeof score !== 'string' || typeof json !== 'string' || parseScore(score) <= now()) return null;
    return decodeBanRecord(json);
  }

  async function status(jail: string): Promise<JailStoreStatus> {
    const k = keysOf(jail);
    const t = String(now());
    const [banned, failed, totals] = (await withRedis('jail status', async () =>
      execResults(
        await redis
          .multi()
          .zrangebyscore(k.due, `(${t}`, '+inf')
          .zrangebyscore(k.failing, t, '+inf')
          .hmget(k.stats, 'totalFailed', 'totalBanned')
          .exec(),
      ),
    )) as [string[], string[], (string | null)[]];
    const [totalFailed, totalBanned] = totals;
    return {
      currentlyFailed: failed.length,
      totalFailed: Number(totalFailed ?? 0),
      currentlyBanned: banned.length,
      totalBanned: Number(totalBanned ?? 0),
      bannedIps: banned,
      failedIps: failed,
    };
  }

  async function expireDue(at: number): Promise<BanRecord[]> {
    const cutoff = String(checkTime(at, 'expiry time'));
    const out: BanRecord[] = [];
    for (const j of await ctx.jails()) {
      const k = keysOf(j);
      for (;;) {
        const batch = (await runScript(redis, expireDueScript, [k.bans, k.due, ctx.global.audit], [cutoff, String(EXPIRE_BATCH), j, ctx.auditMaxLen, ctx.host])) as string[];
        out.push(...batch.map(decodeBanRecord));
        if (batch.length < EXPIRE_BATCH) break;
      }
    }
    return out;
  }

  async function banCount(ipText: string, jail?: string): Promise<number> {
    const ip = normalizeIp(ipText);
    const targets = jail === undefined ? await ctx.jails() : [checkJail(jail)];
    const counts = await withRedis('ban count', () => Promise.all(targets.map((j) => redis.hget(keysOf(j).off(ip), 'count'))));
    return counts.reduce((sum, c) => sum + Number(c ?? 0), 0);
  }

  async function history(jail: string, ipText: string): Promise<OffenceHistory> {
    const ip = normalizeIp(ipText);
    const h = await withRedis('offence history', () => redis.hgetall(keysOf(jail).off(ip)));
    const unbanOrigin = h.lastUnbanOrigin;
    return {
      banCount: Number(h.count ?? 0),
      lastBanAt: h.lastBanAt === undefined ? null : Number(h.lastBanAt),
      lastUnban:
        h.lastUnbanAt === undefined || unbanOrigin === undefined
          ? null
          : { at: Number(h.lastUnbanAt), origin: checkOrigin(unbanOrigin), ...(h.lastUnbanBy ? { by: h.lastUnbanBy } : {}) },
    };
  }

  return {
    recordFailure: (f) => recordFailure(ctx, f),
    recordFailures: (b) => recordFailures(ctx, b),
    feedRecidive: (ban, target) => feedRecidive(ctx, ban, target),
    feedRecidiveMany: (bans, target) => feedRecidiveMany(ctx, bans, target),
    ban: (jail, ip, o) => manualBan(ctx, jail, ip, o),
    banMany: (jail, ips, o, onChunk) => bulkBan(ctx, jail, ips, o, onChunk),
    settleBulkBans: () => settleBulkBans(ctx),
    unban,
    activeBans,
    activeBanEnds: async (jail) => activeBanEnds(ctx, jail === undefined ? await ctx.jails() : [checkJail(jail)]),
    getBan,
    status,
    expireDue,
    banCount,
    history,
    jails: () => ctx.jails(),
    trustAndUnban: (entry, o) => trustAndUnban(ctx, entry, o),
    untrust: (entry, o) => untrust(ctx, entry, o),
    trusted: () => readTrusted(redis, ctx.global),
  };
}

/** The replies of a MULTI, throwing the first command error (exec() reports them per command). */
function execResults(res: [Error | null, unknown][] | null): unknown[] {
  if (res === null) throw new Error('MULTI was aborted');
  return res.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}
