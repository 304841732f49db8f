import { PortcullisError } from '@portcullis/shared';
import { NO_ESCALATION, NO_TRUST_GATE, UNKNOWN_BAN_COUNT } from './script-replies.js';
import type { StoreContext } from './store-context.js';
import type { Escalation } from './types.js';

export type AttemptReply<R> = { kind: 'done'; value: R } | { kind: 'needs'; previousBans: number } | { kind: 'stale' };

export interface AttemptArgs {
  /** Previous-ban count the ban time was computed for (NO_ESCALATION / UNKNOWN_BAN_COUNT). */
  expected: number;
  /** Ban time (seconds, -1 permanent) to use if this attempt decides a ban. */
  bantime: number;
  /** Trust-list version this attempt decides with (NO_TRUST_GATE without a gate). */
  trustSeen: number;
}

/** Concurrent deciders re-read at most this often; each retry means another ban of the same address landed. */
const MAX_ATTEMPTS = 8;

/**
 * Runs a deciding script until it settles: when it asks for the escalation count, the ban time is
 * computed for the count it read and the script runs again; when the trust list it decided with is
 * outdated, the list is reloaded; an address the list covers is never banned.
 */
export async function decideLoop<R>(
  ctx: StoreContext,
  ip: string,
  bantime: number,
  escalation: Escalation | undefined,
  attempt: (a: AttemptArgs) => Promise<AttemptReply<R>>,
  whenTrusted: () => R,
): Promise<R> {
  // the fleet-wide list as loaded; the scripts then make sure it was current when they decide
  if (ctx.trustGate?.isTrusted(ip)) return whenTrusted();
  const escalates = escalation !== undefined && escalation.increment && bantime > 0;
  let args: AttemptArgs = { expected: escalates ? UNKNOWN_BAN_COUNT : NO_ESCALATION, bantime, trustSeen: NO_TRUST_GATE };
  for (let i = 0; i < MAX_ATTEMPTS; i++) {
    args = { ...args, trustSeen: ctx.trustGate ? ctx.trustGate.version() : NO_TRUST_GATE };
    const reply = await attempt(args);
    if (reply.kind === 'done') return reply.value;
    if (reply.kind === 'needs' && escalation) {
      args = { ...args, expected: reply.previousBans, bantime: escalation.banTimeFor(reply.previousBans, ctx.random) };
      continue;
    }
    if (reply.kind === 'stale' && ctx.trustGate) {
      await ctx.trustGate.refresh();
      if (ctx.trustGate.isTrusted(ip)) return whenTrusted();
      continue;
    }
    throw new PortcullisError('PC_INTERNAL', `unexpected ${reply.kind} reply from a ban script`);
  }
  throw new PortcullisError('PC_INTERNAL', `the ban decision for ${ip} did not settle after ${MAX_ATTEMPTS} attempts (bans of it keep landing concurrently)`);
}

/** A ban's end and its ZSET score for a ban starting at `at`. */
export function endOf(at: number, bantime: number): { until: number | null; score: string } {
  if (bantime < 0) return { until: null, score: '+inf' };
  const until = at + Math.round(bantime * 1000);
  return { until, score: String(until) };
}
