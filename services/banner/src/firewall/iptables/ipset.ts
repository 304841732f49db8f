import { normalizeAddress } from '../addresses.js';

/** The kernel's largest ipset timeout (UINT_MAX / 2000 in ms terms); 0 means "never expires". */
export const IPSET_MAX_TIMEOUT = 2_147_483;
/** Room for far more bans per jail than fail2ban's 65536 default; memory grows with use, not with this. */
export const IPSET_MAXELEM = 1_048_576;

/** Per set name: canonical address -> kernel timeout in seconds (0 = permanent). */
export type SetElements = Map<string, Map<string, number>>;

/** The ipset timeout for a ban: whole seconds, permanent (0) for null and for anything beyond the kernel's limit. */
export function ipsetTimeout(timeoutSec: number | null): number {
  if (timeoutSec === null) return 0;
  const t = Math.ceil(timeoutSec);
  return t > IPSET_MAX_TIMEOUT ? 0 : t;
}

/**
 * `create` lines, identical on every run so `ipset restore -exist` accepts an existing set (keeping
 * its elements) and refuses one made with other parameters.
 */
export function createLines(sets: readonly { name: string; family: 4 | 6 }[]): string[] {
  return sets.map(
    (s) => `create ${s.name} hash:ip family ${s.family === 4 ? 'inet' : 'inet6'} hashsize 1024 maxelem ${IPSET_MAXELEM} timeout 0`,
  );
}

/**
 * `add` with -exist re-sets the timeout of an element that is already there; `del` with -exist
 * ignores one that is not.
 */
export function writeLines(writes: SetElements, removals: SetElements = new Map()): string[] {
  const lines: string[] = [];
  for (const [set, elems] of removals) for (const ip of elems.keys()) if (!writes.get(set)?.has(ip)) lines.push(`del ${set} ${ip}`);
  for (const [set, elems] of writes) for (const [ip, timeout] of elems) lines.push(`add ${set} ${ip} timeout ${timeout}`);
  return lines;
}

export interface SavedSet {
  /** The `create` line's parameters after the type, e.g. `family inet hashsize 1024 ... timeout 0`. */
  header: string;
  type: string;
  elems: Map<string, number>;
}

/** The sets `ipset save` prints, restricted to `names` when given. */
export function parseIpsetSave(text: string, names?: ReadonlySet<string>): Map<string, SavedSet> {
  const out = new Map<string, SavedSet>();
  for (const raw of text.split('\n')) {
    const words = raw.trim().split(/\s+/);
    const [verb, name] = words;
    if (!name || (names && !names.has(name))) continue;
    if (verb === 'create') {
      out.set(name, { type: words[2] ?? '', header: words.slice(3).join(' '), elems: new Map() });
    } else if (verb === 'add') {
      const set = out.get(name);
      const addr = words[2];
      if (!set || !addr) continue;
      const i = words.indexOf('timeout');
      const timeout = i > 0 ? Number(words[i + 1]) : 0;
      let ip: string;
      try {
        ip = normalizeAddress(addr).address;
      } catch {
        continue; // not a plain address (a foreign set type); never one of ours
      }
      set.elems.set(ip, Number.isFinite(timeout) ? timeout : 0);
    }
  }
  return out;
}
