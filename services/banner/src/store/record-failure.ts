import { normalizeIp } from '../trust/normalize-ip.js';
import { decideLoop, endOf, type AttemptReply } from './decide-loop.js';
import { decodeBanRecord } from './record-codec.js';
import { recordFailureScript } from './record-failure-script.js';
import { REPLY_NEEDS_BAN_COUNT, REPLY_TRUST_STALE } from './script-replies.js';
import { runScript } from './script-runner.js';
import type { StoreContext } from './store-context.js';
import type { BanRecord, BatchFailure, FailureInput, FailureResult, RecidiveTarget } from './types.js';
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

/** A replayed event is ignored for findtime after its log time, plus this margin for clock drift. */
export const REPLAY_GRACE_MS = 60_000;
/** Log times further ahead of our clock than this do not stretch the replay memory further. */
export const MAX_FUTURE_MS = 24 * 3600 * 1000;

export async function recordFailure(ctx: StoreContext, f: FailureInput): Promise<FailureResult> {
  const jail = checkJail(f.jail);
  const ip = normalizeIp(f.ip);
  const eventId = checkEventId(f.eventId);
  const at = checkTime(f.at, 'failure time');
  const maxretry = checkMaxretry(f.maxretry);
  const findtimeMs = checkFindtime(f.findtime);
  const bantime = checkBantime(f.bantime);
  const origin = checkOrigin(f.origin);
  const matches = cleanMatches(f.matches);
  const reason = cleanText(f.reason ?? `maxretry ${maxretry} reached within findtime ${f.findtime}s`);
  const host = cleanText(f.host, 128);
  const k = ctx.keysOf(jail);
  // registration goes out first on the same connection, pipelined with the first script call
  const [, result] = await Promise.all([
    ctx.register(jail),
    decideLoop<FailureResult>(
    ctx,
    ip,
    bantime,
    f.escalation,
    async (a): Promise<AttemptReply<FailureResult>> => {
      const t = ctx.now();
      const { until, score } = endOf(t, a.bantime);
      const seenUntil = Math.min(Math.max(at, t), t + MAX_FUTURE_MS) + findtimeMs + REPLAY_GRACE_MS;
      const base = { jail, ip, at: t, until, bantime: a.bantime, origin, reason, host, failures: 0 };
      const reply = (await runScript(
        ctx.redis,
        recordFailureScript,
        [k.fail(ip), k.match(ip), k.seen(ip), k.failing, k.bans, k.due, k.stats, k.off(ip), ctx.global.audit, ctx.global.trustVersion],
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
          ctx.historyTtlMs(jail),
          ctx.auditMaxLen,
          ctx.host,
          a.expected,
          f.escalation?.overallJails ? '1' : '0',
          ctx.prefix,
          jail,
          a.trustSeen,
          f.escalation?.increment ? '1' : '0',
        ].map(String),
      )) as [number, number?, (string | null)?];
      const [code, n = 0, banJson] = reply;
      if (code === REPLY_NEEDS_BAN_COUNT) return { kind: 'needs', previousBans: n };
      if (code === REPLY_TRUST_STALE) return { kind: 'stale' };
      return { kind: 'done', value: { counted: code === 1, failures: n, ban: banJson ? decodeBanRecord(banJson) : null } };
    },
    () => ({ counted: false, failures: 0, ban: null, trusted: true }),
    ),
  ]);
  return result;
}

/**
 * Feeds one ban decision of another jail to a recidive-like jail as a failure. The event id is
 * derived from the ban, so feeding the same ban twice (a retry) counts it once. Bans of the
 * recidive jail itself are not fed back (fail2ban's recidive filter skips its own jail's lines).
 */
export async function feedRecidive(ctx: StoreContext, ban: BanRecord, target: RecidiveTarget): Promise<FailureResult> {
  if (ban.jail === target.jail) return { counted: false, failures: 0, ban: null };
  return recordFailure(ctx, {
    ...recidiveFailure(ctx, ban),
    jail: target.jail,
    maxretry: target.maxretry,
    findtime: target.findtime,
    bantime: target.bantime,
    reason: recidiveReason(target),
    ...(target.escalation ? { escalation: target.escalation } : {}),
  });
}

/** A ban of another jail as a recidive jail's failure: its id is derived from the ban. */
export function recidiveFailure(ctx: StoreContext, ban: BanRecord): BatchFailure {
  return {
    eventId: `ban:${ban.jail}:${ban.ip}:${ban.at}`,
    ip: ban.ip,
    at: ban.at,
    matches: [`[${ban.jail}] Ban ${ban.ip}`],
    origin: 'log',
    host: ban.host ?? ctx.host,
  };
}

export function recidiveReason(target: RecidiveTarget): string {
  return `recidive: banned ${target.maxretry} times in other jails within ${target.findtime}s`;
}
