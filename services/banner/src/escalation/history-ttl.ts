import { parseDuration, PortcullisError, type JailConfig } from '@portcullis/shared';
import type { EscalationPolicy } from './policy.js';
import { isRecidiveJail } from './recidive.js';

/** Default offence-history lifetime when a jail sets no `dbpurgeage` (fail2ban's 1 day is too short for escalation). */
export const DEFAULT_HISTORY_SECONDS = 30 * 24 * 3600;

/**
 * How long each jail's offence history (ban count, last ban, last unban) outlives the address's last
 * ban or unban. fail2ban forgets bans after `dbpurgeage` (1 day by default) whatever its
 * escalation or recidive windows are, so an address that comes back later starts over. Here each
 * jail keeps its history for the longest of:
 *
 *   1. its `dbpurgeage` option (default 30 days);
 *   2. the findtime of every recidive-like jail (the window in which bans are held against an address);
 *   3. the longest ban it can hand out (the largest escalated ban time over 0..64 previous bans, with
 *      the whole bantime.rndtime added; its bantime without bantime.increment) plus its findtime,
 *      so an address that offends again right after its longest ban ended is still known;
 *
 * and every jail keeps at least the longest history of any jail with bantime.overalljails, because
 * those jails count the address's bans in all jails. Returns seconds per jail name.
 */
export function historyTtls(jails: readonly JailConfig[], policies: ReadonlyMap<string, EscalationPolicy>): Map<string, number> {
  const enabled = jails.filter((j) => j.enabled);
  const recidiveWindow = Math.max(0, ...enabled.filter(isRecidiveJail).map((j) => j.findtime));
  const own = new Map<string, number>();
  for (const j of enabled) {
    const p = policies.get(j.name);
    const longestBan = j.bantime < 0 ? 0 : p ? longestEscalatedBan(p) : j.bantime;
    own.set(j.name, Math.ceil(Math.max(dbPurgeAge(j), recidiveWindow, longestBan + j.findtime)));
  }
  const overall = Math.max(0, ...enabled.filter((j) => policies.get(j.name)?.overallJails).map((j) => own.get(j.name) ?? 0));
  return new Map([...own].map(([name, ttl]) => [name, Math.max(ttl, overall)]));
}

function longestEscalatedBan(p: EscalationPolicy): number {
  let longest = 0;
  for (let n = 0; n <= 64; n++) longest = Math.max(longest, p.banTimeFor(n, () => 1));
  return longest;
}

function dbPurgeAge(jail: JailConfig): number {
  const text = jail.options.dbpurgeage?.trim();
  if (text === undefined || text === '') return DEFAULT_HISTORY_SECONDS;
  const s = parseDuration(text, jail.ref, 'dbpurgeage');
  if (s <= 0) {
    throw new PortcullisError('PC_CONFIG_INVALID', `dbpurgeage must be longer than zero, got ${JSON.stringify(text)} (jail [${jail.name}])`, { location: jail.ref });
  }
  return s;
}
