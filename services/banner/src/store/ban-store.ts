import { PortcullisError, type Clock, type Redis } from '@portcullis/shared';
import { normalizeIp } from '../trust/normalize-ip.js';
import { activeBansScript, expireDueScript, manualBanScript, unbanScript } from './ban-scripts.js';
import { jailKeys, jailRegistryKey, type JailKeys } from './keys.js';
import { decodeBanRecord, parseScore } from './record-codec.js';
import { recordFailureScript } from './record-failure-script.js';
import { runScript, withRedis } from './script-runner.js';
import type {
  BanRecord,
  FailureInput,
  FailureResult,
  JailStoreStatus,
  ManualBanInput,
  ManualBanResult,
  OffenceHistory,
  UnbanInput,
} from './types.js';
import {
  checkBantime,
  checkEventId,
  checkFindtime,
  checkJail,
  checkMaxretry,
  checkOrigin,
  checkTime,
  cleanMatches,
  cleanText,
  MAX_MATCHES,
} from './validate.js';

export interface BanStoreOptions {
  clock: Clock;
  /** Default 'pc:'. */
  keyPrefix?: string;
  /** How long offence history outlives the last ban or unban, for escalation. Default 30 days. */
  historyTtlSeconds?: number;
}

export interface BanStore {
  recordFailure(f: FailureInput): Promise<FailureResult>;
  ban(jail: string, ip: string, opts: ManualBanInput): Promise<ManualBanResult>;
  /** jail null: every jail. Returns the bans that were removed. */
  unban(jail: string | null, ip: string, opts: UnbanInput): Promise<BanRecord[]>;
  activeBans(jail?: string): Promise<BanRecord[]>;
  getBan(jail: string, ip: string): Promise<BanRecord | null>;
  status(jail: string): Promise<JailStoreStatus>;
  /** Claims every ban whose end is <= now; each is returned to exactly one caller across instances. */
  expireDue(now: number): Promise<BanRecord[]>;
  /** Bans of ip in jail (or summed over all jails) within the history window. */
  banCount(ip: string, jail?: string): Promise<number>;
  history(jail: string, ip: string): Promise<OffenceHistory>;
  /** Jails that ever held state in this store. */
  jails(): Promise<string[]>;
}

const DEFAULT_HISTORY_TTL_S = 30 * 24 * 3600;
const EXPIRE_BATCH = 1000;
/** A replayed event is ignored for findtime after its log time, plus this margin for clock drift. */
const REPLAY_GRACE_MS = 60_000;
/** Log times further ahead of our clock than this do not stretch the replay memory further. */
const MAX_FUTURE_MS = 24 * 3600 * 1000;

export function createBanStore(redis: Redis, opts: BanStoreOptions): BanStore {
  const { clock } = opts;
  const prefix = opts.keyPrefix ?? 'pc:';
  const historyTtlS = opts.historyTtlSeconds ?? DEFAULT_HISTORY_TTL_S;
  if (!Number.isFinite(historyTtlS) || historyTtlS <= 0) {
    throw new PortcullisError('PC_CONFIG_INVALID', `historyTtlSeconds must be a positive number, got ${String(historyTtlS)}`);
  }
  const historyTtlMs = Math.round(historyTtlS * 1000);
  const registry = jailRegistryKey(prefix);
  const keysOf = (jail: string): JailKeys => jailKeys(prefix, checkJail(jail));
  const now = (): number => Math.floor(clock.now());

  async function register(jail: string): Promise<void> {
    await withRedis('jail registration', () => redis.sadd(registry, jail));
  }

  async function jails(): Promise<string[]> {
    const list = await withRedis('jail listing', () => redis.smembers(registry));
    return list.sort();
  }

  function endOf(at: number, bantime: number): { until: number | null; score: string } {
    if (bantime < 0) return { until: null, score: '+inf' };
    const until = at + Math.round(bantime * 1000);
    return { until, score: String(until) };
  }

  async function recordFailure(f: FailureInput): Promise<FailureResult> {
    const jail = checkJail(f.jail);
    const ip = normalizeIp(f.ip);
    const eventId = checkEventId(f.eventId);
    const at = checkTime(f.at, 'failure time');
    const maxretry = checkMaxretry(f.maxretry);
    const findtimeMs = checkFindtime(f.findtime);
    const bantime = checkBantime(f.bantime);
    const origin = checkOrigin(f.origin);
    const t = now();
    const { until, score } = endOf(t, bantime);
    const seenUntil = Math.min(Math.max(at, t), t + MAX_FUTURE_MS) + findtimeMs + REPLAY_GRACE_MS;
    const matches = cleanMatches(f.matches);
    const base = {
      jail,
      ip,
      at: t,
      until,
      bantime,
      origin,
      reason: cleanText(f.reason ?? `maxretry ${maxretry} reached within findtime ${f.findtime}s`),
      host: cleanText(f.host, 128),
      failures: 0,
    };
    const k = keysOf(jail);
    const [, reply] = await Promise.all([
      register(jail),
      runScript(
        redis,
        recordFailureScript,
        [k.fail(ip), k.match(ip), k.seen(ip), k.failing, k.bans, k.due, k.stats, k.off(ip)],
        [
          ip,
          eventId,
          Math.min(at, t),
          t,
          maxretry,
          findtimeMs,
          seenUntil,
          matches.length > 0 ? JSON.stringify(matches) : '',
          JSON.stringify(base),
          score,
          MAX_MATCHES,
          historyTtlMs,
        ].map(String),
      ),
    ]);
    const [counted, failures, banJson] = reply as [number, number, string | null | undefined];
    return { counted: counted === 1, failures, ban: banJson ? decodeBanRecord(banJson) : null };
  }

  async function ban(jail: string, ipText: string, o: ManualBanInput): Promise<ManualBanResult> {
    const ip = normalizeIp(ipText);
    const k = keysOf(jail);
    const bantime = checkBantime(o.bantime);
    const t = now();
    const { until, score } = endOf(t, bantime);
    const record: Record<string, unknown> = {
      jail,
      ip,
      at: t,
      until,
      bantime,
      origin: checkOrigin(o.origin),
      reason: cleanText(o.reason),
      failures: 0,
    };
    if (o.by !== undefined) record.by = cleanText(o.by, 256);
    const matches = cleanMatches(o.matches);
    if (matches.length > 0) record.matches = matches;
    const [, reply] = await Promise.all([
      register(jail),
      runScript(
        redis,
        manualBanScript,
        [k.bans, k.due, k.stats, k.off(ip), k.fail(ip), k.match(ip), k.failing],
        [ip, String(t), JSON.stringify(record), score, String(historyTtlMs)],
      ),
    ]);
    const [status, json] = reply as [ManualBanResult['status'], string];
    return { status, ban: decodeBanRecord(json) };
  }

  async function unban(jail: string | null, ipText: string, o: UnbanInput): Promise<BanRecord[]> {
    const ip = normalizeIp(ipText);
    const origin = checkOrigin(o.origin);
    const by = o.by === undefined ? '' : cleanText(o.by, 256);
    const targets = jail === null ? await jails() : [checkJail(jail)];
    const t = String(now());
    const removed = await Promise.all(
      targets.map(async (j) => {
        const k = keysOf(j);
        const json = await runScript(
          redis,
          unbanScript,
          [k.bans, k.due, k.fail(ip), k.match(ip), k.failing, k.off(ip)],
          [ip, t, origin, by, String(historyTtlMs)],
        );
        return typeof json === 'string' ? decodeBanRecord(json) : null;
      }),
    );
    return removed.filter((r): r is BanRecord => r !== null);
  }

  async function activeBans(jail?: string): Promise<BanRecord[]> {
    const targets = jail === undefined ? await jails() : [checkJail(jail)];
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
    for (const j of await jails()) {
      const k = keysOf(j);
      for (;;) {
        const batch = (await runScript(redis, expireDueScript, [k.bans, k.due], [cutoff, String(EXPIRE_BATCH), j])) as string[];
        out.push(...batch.map(decodeBanRecord));
        if (batch.length < EXPIRE_BATCH) break;
      }
    }
    return out;
  }

  async function banCount(ipText: string, jail?: string): Promise<number> {
    const ip = normalizeIp(ipText);
    const targets = jail === undefined ? await jails() : [checkJail(jail)];
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

  return { recordFailure, ban, unban, activeBans, getBan, status, expireDue, banCount, history, jails };
}

/** The replies of a MULTI, throwing the first command error (exec() reports them per command). */
function execResults(res: [Error | null, unknown][] | null): unknown[] {
  if (res === null) throw new Error('MULTI was aborted');
  return res.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}
