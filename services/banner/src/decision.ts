import { hash } from 'node:crypto';
import type { BanDecisionV1 } from '@portcullis/shared';
import type { BanRecord } from './store/index.js';

/** Matched lines carried in a decision (the contract's bound). */
const MAX_MATCHES = 50;

/**
 * A decision's id is derived from what it decides, so the same decision published twice (a retry
 * after a lost acknowledgement) is stored once by JetStream's duplicate window.
 */
function decisionId(kind: string, jail: string, ip: string, at: number): string {
  // crypto.hash: the one-shot form, half the cost of createHash() for a mass ban's 50,000 ids
  return hash('sha256', `${kind}\0${jail}\0${ip}\0${at}`, 'hex').slice(0, 32);
}

export function banDecision(rec: BanRecord, decidedBy: string): BanDecisionV1 {
  const d: BanDecisionV1 = {
    v: 1,
    id: decisionId('ban', rec.jail, rec.ip, rec.at),
    kind: 'ban',
    jail: rec.jail,
    ip: rec.ip,
    at: rec.at,
    until: rec.until,
    bantime: rec.bantime < 0 ? -1 : rec.bantime,
    origin: rec.origin,
    reason: rec.reason.slice(0, 1024),
    decidedBy,
    failures: rec.failures,
    banCount: rec.banCount,
    matches: rec.matches.slice(-MAX_MATCHES).map((m) => m.slice(0, 4096)),
  };
  if (rec.by) d.by = rec.by.slice(0, 256);
  if (rec.host) d.seenOn = rec.host;
  return d;
}

export function unbanDecision(
  rec: { jail: string; ip: string; origin: BanDecisionV1['origin'] },
  at: number,
  decidedBy: string,
  reason: string,
  by?: string,
): BanDecisionV1 {
  const d: BanDecisionV1 = {
    v: 1,
    id: decisionId('unban', rec.jail, rec.ip, at),
    kind: 'unban',
    jail: rec.jail,
    ip: rec.ip,
    at,
    origin: rec.origin,
    reason,
    decidedBy,
  };
  if (by) d.by = by.slice(0, 256);
  return d;
}
