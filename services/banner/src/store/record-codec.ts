import { PortcullisError, type Origin } from '@portcullis/shared';
import type { BanRecord } from './types.js';

const ORIGINS = new Set<string>(['log', 'cli', 'api', 'external', 'flowmon']);

/**
 * Reads a stored record. Records are written by our scripts (Redis' cjson turns an empty array
 * into {}), and a record rebuilt by the expiry sweep carries only jail, ip and until, so missing
 * fields get neutral values instead of failing the unban they are needed for.
 */
export function decodeBanRecord(json: string): BanRecord {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (e) {
    throw new PortcullisError('PC_INTERNAL', 'a stored ban record is not valid JSON', { cause: e });
  }
  if (typeof raw !== 'object' || raw === null) throw new PortcullisError('PC_INTERNAL', 'a stored ban record is not an object');
  const r = raw as Record<string, unknown>;
  if (typeof r.jail !== 'string' || typeof r.ip !== 'string') {
    throw new PortcullisError('PC_INTERNAL', 'a stored ban record has no jail or ip');
  }
  const until = typeof r.until === 'number' && Number.isFinite(r.until) ? r.until : null;
  const rec: BanRecord = {
    jail: r.jail,
    ip: r.ip,
    at: num(r.at) ?? until ?? 0,
    until,
    bantime: num(r.bantime) ?? (until === null ? -1 : 0),
    origin: typeof r.origin === 'string' && ORIGINS.has(r.origin) ? (r.origin as Origin) : 'log',
    reason: typeof r.reason === 'string' ? r.reason : '',
    failures: num(r.failures) ?? 0,
    matches: Array.isArray(r.matches) ? r.matches.filter((m): m is string => typeof m === 'string') : [],
    banCount: num(r.banCount) ?? 0,
  };
  if (typeof r.by === 'string') rec.by = r.by;
  if (typeof r.host === 'string') rec.host = r.host;
  return rec;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** A ZSET score as returned by Redis ('inf' for a permanent ban) in ms, Infinity for permanent. */
export function parseScore(s: string): number {
  if (s === 'inf' || s === '+inf') return Infinity;
  return Number(s);
}
