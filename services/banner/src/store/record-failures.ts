import { PortcullisError } from '@portcullis/shared';
import { normalizeIp } from '../trust/normalize-ip.js';
import { endOf } from './decide-loop.js';
import { decodeBanRecord } from './record-codec.js';
import { MAX_FUTURE_MS, recidiveFailure, recidiveReason, REPLAY_GRACE_MS } from './record-failure.js';
import { recordFailuresScript } from './record-failures-script.js';
import { NO_ESCALATION, NO_TRUST_GATE, REPLY_NEEDS_BAN_COUNT, REPLY_TRUST_STALE, UNKNOWN_BAN_COUNT } from './script-replies.js';
import { redisError, runScript } from './script-runner.js';
import type { StoreContext } from './store-context.js';
import type { BanRecord, FailureBatchInput, FailureBatchResult, FailureResult, RecidiveTarget } from './types.js';
import { checkBantime, checkEventId, checkFindtime, checkJail, checkMaxretry, checkOrigin, checkTime, cleanMatches, cleanText, MAX_MATCHES } from './validate.js';

/**
 * Failures per script call. Redis runs one script at a time, so a call is kept to a few ms: other
 * deciders, the enforcers' reads and the CLI wait behind it.
 */
export const RECORD_FAILURES_CHUNK = 1_000;
/** As decideLoop: each further round means bans of the same address keep landing concurrently. */
const MAX_ROUNDS = 8;

/** One address' failures still to record, with what its next attempt decides with. */
interface Group {
  ip: string;
  /** Indexes into the batch's failures, in order; `next` is the first not yet recorded. */
  members: number[];
  next: number;
  expected: number;
  bantime: number;
}

interface Prepared {
  eventId: string;
  at: number;
  matches: string;
  source: string;
}

/**
 * recordFailure for many failures of one jail: the failures of one address are recorded in order by
 * one call of the record-failures script, with the outcome recordFailure would give each of them,
 * and calls of a few hundred addresses each go out at once (pipelined). An address whose next
 * failure needs its previous-ban count, or a newer trust list, is sent again with them (the same
 * rounds as decideLoop, for all such addresses at once). A call that fails (Redis down) leaves its
 * failures unrecorded (null) and the others recorded: the caller retries the failures, whose event
 * ids keep any that were recorded after all from counting twice.
 */
export async function recordFailures(ctx: StoreContext, b: FailureBatchInput): Promise<FailureBatchResult> {
  const jail = checkJail(b.jail);
  const maxretry = checkMaxretry(b.maxretry);
  const findtimeMs = checkFindtime(b.findtime);
  const bantime = checkBantime(b.bantime);
  const reason = cleanText(b.reason ?? `maxretry ${maxretry} reached within findtime ${b.findtime}s`);
  const escalation = b.escalation;
  const escalates = escalation !== undefined && escalation.increment && bantime > 0;
  const results: (FailureResult | null)[] = new Array<FailureResult | null>(b.failures.length).fill(null);
  if (b.failures.length === 0) return { results };

  // validated before anything is written: an invalid failure fails the call, not half of it
  const sources = new Map<string, number>();
  const sourceList: string[] = [];
  const prepared: Prepared[] = [];
  const groups = new Map<string, Group>();
  const canonical = new Map<string, string>();
  for (let i = 0; i < b.failures.length; i++) {
    const f = b.failures[i]!;
    let ip = canonical.get(f.ip);
    if (ip === undefined) {
      ip = normalizeIp(f.ip);
      canonical.set(f.ip, ip);
    }
    const origin = checkOrigin(f.origin);
    const host = cleanText(f.host, 128);
    const sourceKey = `${origin}\0${host}`;
    if (!sources.has(sourceKey)) {
      sources.set(sourceKey, sourceList.length / 2 + 1);
      sourceList.push(origin, host);
    }
    const matches = cleanMatches(f.matches);
    prepared.push({
      eventId: checkEventId(f.eventId),
      at: checkTime(f.at, 'failure time'),
      matches: matches.length > 0 ? JSON.stringify(matches) : '',
      source: String(sources.get(sourceKey)),
    });
    let g = groups.get(ip);
    if (!g) {
      g = { ip, members: [], next: 0, expected: escalates ? UNKNOWN_BAN_COUNT : NO_ESCALATION, bantime };
      groups.set(ip, g);
    }
    g.members.push(i);
  }

  const k = ctx.keysOf(jail);
  const gate = ctx.trustGate;
  const trusted = (g: Group): void => {
    for (const m of g.members.slice(g.next)) results[m] = { counted: false, failures: 0, ban: null, trusted: true };
  };
  let error: PortcullisError | undefined;

  const call = async (chunk: Group[], trustSeen: number): Promise<{ needs: Group[]; stale: Group[] }> => {
    const t = ctx.now();
    const args: string[] = [
      String(t),
      String(maxretry),
      String(findtimeMs),
      String(MAX_MATCHES),
      String(ctx.historyTtlMs(jail)),
      ctx.auditMaxLen,
      ctx.host,
      escalation?.overallJails ? '1' : '0',
      ctx.prefix,
      jail,
      String(trustSeen),
      escalation?.increment ? '1' : '0',
      String(MAX_FUTURE_MS),
      String(REPLAY_GRACE_MS),
      reason,
      String(sourceList.length / 2),
      ...sourceList,
    ];
    for (const g of chunk) {
      const todo = g.members.length - g.next;
      args.push(g.ip, String(g.expected), String(g.bantime), endOf(t, g.bantime).score, String(todo));
      for (let m = g.next; m < g.members.length; m++) {
        const p = prepared[g.members[m]!]!;
        args.push(p.eventId, String(p.at), p.matches, p.source);
      }
    }
    const reply = (await runScript(ctx.redis, recordFailuresScript, [k.failing, k.bans, k.due, k.stats, ctx.global.audit, ctx.global.trustVersion], args)) as (number | string)[];
    const needs: Group[] = [];
    const stale: Group[] = [];
    let r = 0;
    for (const g of chunk) {
      const code = Number(reply[r]);
      const processed = Number(reply[r + 1]);
      const prev = Number(reply[r + 2]);
      r += 3;
      for (let p = 0; p < processed; p++) {
        const json = reply[r + 2];
        results[g.members[g.next + p]!] = { counted: Number(reply[r]) === 1, failures: Number(reply[r + 1]), ban: typeof json === 'string' && json !== '' ? decodeBanRecord(json) : null };
        r += 3;
      }
      g.next += processed;
      if (code === REPLY_NEEDS_BAN_COUNT && escalation) {
        g.expected = prev;
        g.bantime = escalation.banTimeFor(prev, ctx.random);
        needs.push(g);
      } else if (code === REPLY_TRUST_STALE) stale.push(g);
      else if (code !== 0) throw new PortcullisError('PC_INTERNAL', `unexpected reply ${code} from the record-failures script`);
    }
    return { needs, stale };
  };

  await ctx.register(jail);
  // the fleet-wide list as loaded; the script then makes sure it was current when it decides
  let todo = [...groups.values()].filter((g) => {
    if (!gate?.isTrusted(g.ip)) return true;
    trusted(g);
    return false;
  });
  for (let round = 0; todo.length > 0 && round < MAX_ROUNDS; round++) {
    const trustSeen = gate ? gate.version() : NO_TRUST_GATE;
    const outcomes = await Promise.all(
      chunksOf(todo).map((chunk) =>
        call(chunk, trustSeen).catch((e: unknown) => {
          error ??= redisError(e, 'script record-failures');
          return { needs: [], stale: [] };
        }),
      ),
    );
    let stale = outcomes.flatMap((o) => o.stale);
    if (stale.length > 0 && gate) {
      await gate.refresh();
      stale = stale.filter((g) => {
        if (!gate.isTrusted(g.ip)) return true;
        trusted(g);
        return false;
      });
    }
    todo = [...outcomes.flatMap((o) => o.needs), ...stale];
  }
  if (todo.length > 0 && !error) {
    error = new PortcullisError('PC_INTERNAL', `the ban decision for ${todo.length} address(es) did not settle after ${MAX_ROUNDS} rounds (bans of them keep landing concurrently)`);
  }
  return error ? { results, error } : { results };
}

/**
 * feedRecidive for many bans: each ban of another jail is one failure of the recidive-like jail.
 * Results are per ban, in order; bans of the target jail itself are not fed (counted: false).
 */
export async function feedRecidiveMany(ctx: StoreContext, bans: readonly BanRecord[], target: RecidiveTarget): Promise<FailureBatchResult> {
  const fed = bans.map((ban, i) => ({ ban, i })).filter(({ ban }) => ban.jail !== target.jail);
  const results: (FailureResult | null)[] = bans.map(() => ({ counted: false, failures: 0, ban: null }));
  if (fed.length === 0) return { results };
  const out = await recordFailures(ctx, {
    jail: target.jail,
    maxretry: target.maxretry,
    findtime: target.findtime,
    bantime: target.bantime,
    reason: recidiveReason(target),
    ...(target.escalation ? { escalation: target.escalation } : {}),
    failures: fed.map(({ ban }) => recidiveFailure(ctx, ban)),
  });
  fed.forEach(({ i }, k) => (results[i] = out.results[k]!));
  return out.error ? { results, error: out.error } : { results };
}

/** Whole addresses per call, about RECORD_FAILURES_CHUNK failures each. */
function chunksOf(groups: readonly Group[]): Group[][] {
  const out: Group[][] = [];
  let cur: Group[] = [];
  let size = 0;
  for (const g of groups) {
    const n = g.members.length - g.next;
    if (cur.length > 0 && size + n > RECORD_FAILURES_CHUNK) {
      out.push(cur);
      cur = [];
      size = 0;
    }
    cur.push(g);
    size += n;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}
