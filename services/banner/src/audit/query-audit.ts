import { BlockList } from 'node:net';
import { PortcullisError, type Origin, type Redis } from '@portcullis/shared';
import { globalKeys } from '../store/keys.js';
import { withRedis } from '../store/script-runner.js';
import { checkJail, checkOrigin, checkTime } from '../store/validate.js';
import { ipFamily, mappedIpv6, normalizeIp, parseCidr } from '../trust/normalize-ip.js';
import { decodeAuditEntry, type AuditEntry, type AuditKind } from './audit-entry.js';

export interface AuditQuery {
  jail?: string;
  /** An address: its bans and unbans, and trust changes whose entry covers it. */
  ip?: string;
  origin?: Origin;
  kind?: AuditKind;
  /** Epoch ms, inclusive. */
  since?: number;
  /** Epoch ms, inclusive. */
  until?: number;
  /** Default 100, at most 10,000. */
  limit?: number;
}

export interface AuditLogOptions {
  /** Default 'pc:' (the ban store's). */
  keyPrefix?: string;
}

export interface AuditLog {
  /** Matching entries, newest first. */
  query(q?: AuditQuery): Promise<AuditEntry[]>;
}

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 10_000;
const PAGE = 500;

/**
 * Reads the audit stream the ban store writes. Entry ids are decision times (ms), never below an
 * entry's `at`, so a scan from the newest entry stops at the first id older than `since`.
 */
export function createAuditLog(redis: Redis, opts: AuditLogOptions = {}): AuditLog {
  return { query: (q = {}) => queryAudit(redis, q, opts) };
}

/** Matching audit entries, newest first. */
export async function queryAudit(redis: Redis, q: AuditQuery = {}, opts: AuditLogOptions = {}): Promise<AuditEntry[]> {
  const key = globalKeys(opts.keyPrefix ?? 'pc:').audit;
  const limit = q.limit ?? DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw new PortcullisError('PC_MESSAGE_INVALID', `limit must be an integer from 1 to ${MAX_LIMIT}, got ${String(limit)}`);
  }
  const jail = q.jail === undefined ? undefined : checkJail(q.jail);
  const origin = q.origin === undefined ? undefined : checkOrigin(q.origin);
  const since = q.since === undefined ? undefined : checkTime(q.since, 'since');
  const until = q.until === undefined ? undefined : checkTime(q.until, 'until');
  const ip = q.ip === undefined ? undefined : normalizeIp(q.ip);
  const matches = (e: AuditEntry): boolean =>
    (jail === undefined || e.jail === jail || e.jail === '*') &&
    (origin === undefined || e.origin === origin) &&
    (q.kind === undefined || e.kind === q.kind) &&
    (since === undefined || e.at >= since) &&
    (until === undefined || e.at <= until) &&
    (ip === undefined || e.ip === ip || (e.jail === '*' && covers(e.ip, ip)));

  const out: AuditEntry[] = [];
  let end = '+';
  for (;;) {
    const page = await withRedis('audit query', () => redis.xrevrange(key, end, since === undefined ? '-' : String(since), 'COUNT', PAGE));
    for (const [id, fields] of page) {
      const json = fieldOf(fields, 'e');
      if (json === undefined) continue;
      const e = decodeAuditEntry(id, json);
      if (matches(e)) out.push(e);
      if (out.length >= limit) return out;
    }
    if (page.length < PAGE) return out;
    end = `(${page[page.length - 1]?.[0] ?? '0-0'}`;
  }
}

function fieldOf(fields: string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

/** Whether a trusted entry (address or range) covers a canonical address. */
function covers(entry: string, ip: string): boolean {
  if (!entry.includes('/')) return entry === ip;
  try {
    const c = parseCidr(entry);
    const list = new BlockList();
    list.addSubnet(c.address, c.prefix, c.family);
    if (ipFamily(ip) === 'ipv6') return list.check(ip, 'ipv6');
    return list.check(ip, 'ipv4') || list.check(mappedIpv6(ip), 'ipv6');
  } catch {
    return false;
  }
}
