import { PortcullisError, type Origin } from '@portcullis/shared';

export type AuditKind = 'ban' | 'extend' | 'unban' | 'trust' | 'untrust';
const KINDS: readonly AuditKind[] = ['ban', 'extend', 'unban', 'trust', 'untrust'];
const ORIGINS: readonly Origin[] = ['log', 'cli', 'api', 'external', 'flowmon'];

/**
 * One audit-log entry. Written by the ban store's scripts in the same atomic step as the change it
 * records (see store/lua-prelude.ts audit_add); `id` is the stream entry id.
 */
export interface AuditEntry {
  id: string;
  kind: AuditKind;
  /** '*' for trust changes, which apply to every jail. */
  jail: string;
  /** The address; for trust changes the trusted entry (address or CIDR range). */
  ip: string;
  /** Epoch ms. */
  at: number;
  origin: Origin;
  reason: string;
  /** User or application that asked (manual changes). */
  by?: string;
  /** Host whose banner made the change. */
  decidedBy?: string;
  /** Host whose logs showed the failure that led to a log ban. */
  seenOn?: string;
  /** ban/extend: ban end (ms), null = permanent. */
  until?: number | null;
  /** ban/extend: seconds, -1 = permanent. */
  bantime?: number;
  /** ban: bans of the address in the jail, this one included. */
  banCount?: number;
  /** ban: failures in the window when the ban was decided. */
  failures?: number;
  /** ban: matched log lines that led to it. */
  matches: string[];
}

/** Decodes the `e` field of a stream entry (JSON written by Lua's cjson). */
export function decodeAuditEntry(id: string, json: string): AuditEntry {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (e) {
    throw new PortcullisError('PC_INTERNAL', `audit entry ${id} is not valid JSON`, { cause: e });
  }
  if (typeof raw !== 'object' || raw === null) throw new PortcullisError('PC_INTERNAL', `audit entry ${id} is not an object`);
  const r = raw as Record<string, unknown>;
  const str = (k: string): string | undefined => (typeof r[k] === 'string' ? (r[k] as string) : undefined);
  const num = (k: string): number | undefined => (typeof r[k] === 'number' && Number.isFinite(r[k]) ? (r[k] as number) : undefined);
  const kind = str('kind');
  const jail = str('jail');
  const ip = str('ip');
  if (!kind || !KINDS.includes(kind as AuditKind) || jail === undefined || ip === undefined) {
    throw new PortcullisError('PC_INTERNAL', `audit entry ${id} has no valid kind, jail or ip`);
  }
  const origin = str('origin');
  const entry: AuditEntry = {
    id,
    kind: kind as AuditKind,
    jail,
    ip,
    at: num('at') ?? Number(id.split('-')[0]),
    origin: origin !== undefined && ORIGINS.includes(origin as Origin) ? (origin as Origin) : 'log',
    reason: str('reason') ?? '',
    // cjson writes an empty Lua table as {}
    matches: Array.isArray(r.matches) ? r.matches.filter((m): m is string => typeof m === 'string') : [],
  };
  for (const k of ['by', 'decidedBy', 'seenOn'] as const) {
    const v = str(k);
    if (v !== undefined && v !== '') entry[k] = v;
  }
  for (const k of ['bantime', 'banCount', 'failures'] as const) {
    const v = num(k);
    if (v !== undefined) entry[k] = v;
  }
  if (kind === 'ban' || kind === 'extend') entry.until = num('until') ?? null;
  return entry;
}
