/**
 * fail2ban's multi-line failure ids (<F-MLFID>): lines that share an id (sshd's "host sshd[pid]: ")
 * are one session, and their groups are merged. A port of Filter._mergeFailure (fail2ban 1.0.2,
 * server/filter.py) and of the Utils.Cache it keeps sessions in (100 entries, 5 minutes, FIFO).
 *
 * Flags, as fail2ban names them: F-NOFAIL marks a line that identifies the client but is no
 * failure by itself; F-MLFFORGET ends the session; F-MLFGAINED (a successful login) clears the
 * failures still pending. A nofail line becomes a failure when the session had a pending failure
 * (a failure line that had no address yet) or when it saw more than one user name.
 */
export interface SessionFail {
  /** Groups of the session's lines; undefined marks a group fail2ban popped (kept so no delete is needed). */
  fields: Record<string, string | undefined>;
  /** Every user name seen in the session (fail2ban's 'users'). */
  users?: Set<string>;
  /** A failure matched before the session's address was known (fail2ban's 'mlfpending'). */
  pending: boolean;
}

interface CacheEntry {
  value: SessionFail;
  expires: number;
}

/** A session as plain data (JSON), see MlfidCache.export. */
export interface SessionSnapshot {
  key: string;
  fields: Record<string, string>;
  users?: string[];
  pending: boolean;
  expires: number;
}

export const MLFID_CACHE_COUNT = 100;
export const MLFID_CACHE_MS = 5 * 60_000;

export class MlfidCache {
  private readonly entries = new Map<string, CacheEntry>();
  /** How many entries have each key length: lets a line whose text starts with no key skip work. */
  private readonly lengths = new Map<number, number>();

  get size(): number {
    return this.entries.size;
  }

  get(key: string, now: number): SessionFail | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.expires > now) return e.value;
    this.unset(key);
    return undefined;
  }

  set(key: string, value: SessionFail, now: number): void {
    if (this.entries.size >= MLFID_CACHE_COUNT) {
      // FIFO: drop from the oldest until a live entry was dropped with room left (as fail2ban).
      for (const [k, e] of this.entries) {
        this.unset(k);
        if (e.expires > now && this.entries.size < MLFID_CACHE_COUNT) break;
      }
    }
    if (!this.entries.has(key)) this.lengths.set(key.length, (this.lengths.get(key.length) ?? 0) + 1);
    this.entries.set(key, { value, expires: now + MLFID_CACHE_MS });
  }

  unset(key: string): void {
    if (!this.entries.delete(key)) return;
    const n = (this.lengths.get(key.length) ?? 1) - 1;
    if (n <= 0) this.lengths.delete(key.length);
    else this.lengths.set(key.length, n);
  }

  /** Live sessions, oldest first, for handing a source's state to another matcher instance. */
  export(now: number): SessionSnapshot[] {
    const out: SessionSnapshot[] = [];
    for (const [key, e] of this.entries) {
      if (e.expires <= now) continue;
      const f: Record<string, string> = {};
      for (const k in e.value.fields) {
        const v = e.value.fields[k];
        if (v !== undefined) f[k] = v;
      }
      out.push({ key, fields: f, ...(e.value.users ? { users: [...e.value.users] } : {}), pending: e.value.pending, expires: e.expires });
    }
    return out;
  }

  static import(snapshots: readonly SessionSnapshot[]): MlfidCache {
    const c = new MlfidCache();
    for (const s of snapshots.slice(-MLFID_CACHE_COUNT)) {
      const value: SessionFail = { fields: { ...s.fields }, pending: s.pending, ...(s.users ? { users: new Set(s.users) } : {}) };
      if (!c.entries.has(s.key)) c.lengths.set(s.key.length, (c.lengths.get(s.key.length) ?? 0) + 1);
      c.entries.set(s.key, { value, expires: s.expires });
    }
    return c;
  }

  /** Whether some key is a prefix of `text` (a line whose id is a prefix of its text can only meet those). */
  hasPrefixOf(text: string): boolean {
    for (const len of this.lengths.keys()) {
      if (len <= text.length && this.entries.has(text.slice(0, len))) return true;
    }
    return false;
  }
}

const truthy = (v: string | undefined): boolean => v !== undefined && v !== '';

function updateUsers(f: SessionFail, user: string | undefined): Set<string> | undefined {
  if (truthy(user)) {
    f.users ??= new Set();
    f.users.add(user as string);
  }
  return f.users;
}

/**
 * Merges one matched line into its session and returns the merged failure (fields shared with the
 * cache entry, as fail2ban shares the dict). The caller drops the line when `fields.nofail` is set.
 */
export function mergeFailure(cache: MlfidCache, mlfid: string, fields: Record<string, string | undefined>, now: number): SessionFail {
  const session = cache.get(mlfid, now);
  let flags = 0;
  if (truthy(fields['mlfgained'])) {
    flags |= 8 | 1;
    if (!truthy(fields['nofail'])) fields['nofail'] = fields['mlfgained'] as string;
  } else if (truthy(fields['nofail'])) flags |= 1;
  const forget = fields['mlfforget'];
  if (forget !== undefined) fields['mlfforget'] = undefined;
  if (truthy(forget)) flags |= 2;
  let fail: SessionFail;
  let users: Set<string> | undefined;
  if (session) {
    users = updateUsers(session, fields['user']);
    const g = session.fields;
    if (truthy(g['nofail'])) flags |= 4;
    if (g['nofail'] !== undefined) g['nofail'] = undefined;
    if (truthy(g['mlfgained'])) flags |= 4;
    if (g['mlfgained'] !== undefined) g['mlfgained'] = undefined;
    if (flags & 8) session.pending = false;
    for (const k in fields) {
      const v = fields[k];
      if (v !== undefined) g[k] = v;
    }
    fail = session;
    if (flags & 2) cache.unset(mlfid);
  } else {
    fail = { fields, pending: false };
    if (!(flags & 2)) {
      users = updateUsers(fail, fields['user']);
      cache.set(mlfid, fail, now);
    }
  }
  const wasPending = fail.pending;
  fail.pending = false;
  if (wasPending || (users !== undefined && users.size > 1)) {
    if (fail.fields['nofail'] !== undefined) fail.fields['nofail'] = undefined;
    if (fail.fields['mlfgained'] !== undefined) fail.fields['mlfgained'] = undefined;
  }
  return fail;
}
