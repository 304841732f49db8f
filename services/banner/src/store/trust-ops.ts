import { PortcullisError, type Redis } from '@portcullis/shared';
import type { GlobalKeys } from './keys.js';
import { trustNetwork } from '../trust/trust-network.js';
import { decodeBanRecord } from './record-codec.js';
import { runScript, withRedis } from './script-runner.js';
import type { StoreContext } from './store-context.js';
import { trustAndUnbanScript, untrustScript } from './trust-scripts.js';
import type { TrustAndUnbanResult, TrustedEntry, TrustInput } from './types.js';
import { checkOrigin, cleanText } from './validate.js';

/** "Move to trusted": trust an address or range fleet-wide and remove all its bans, in one atomic step. */
export async function trustAndUnban(ctx: StoreContext, text: string, o: TrustInput): Promise<TrustAndUnbanResult> {
  const net = trustNetwork(text);
  const origin = checkOrigin(o.origin);
  const by = o.by === undefined ? '' : cleanText(o.by, 256);
  const now = ctx.now();
  const meta: Record<string, unknown> = { at: now, origin };
  if (by) meta.by = by;
  const g = ctx.global;
  const [version, removed] = (await runScript(
    ctx.redis,
    trustAndUnbanScript,
    [g.trusted, g.trustVersion, g.audit, g.registry],
    [
      net.entry,
      JSON.stringify(meta),
      now,
      origin,
      by,
      cleanText(o.reason ?? 'moved to trusted'),
      ctx.auditMaxLen,
      ctx.host,
      ctx.prefix,
      ctx.defaultHistoryTtlMs,
      ctx.historyTtlJson,
      g.trustChannel,
      net.prefix,
      ...net.groups,
    ].map(String),
  )) as [number, string[]];
  return { entry: net.entry, version, removed: removed.map(decodeBanRecord) };
}

/** Removes a trusted entry; bans are not restored. Returns whether it was there. */
export async function untrust(ctx: StoreContext, text: string, o: TrustInput): Promise<{ entry: string; removed: boolean; version: number }> {
  const net = trustNetwork(text);
  const g = ctx.global;
  const [removed, version] = (await runScript(
    ctx.redis,
    untrustScript,
    [g.trusted, g.trustVersion, g.audit],
    [
      net.entry,
      ctx.now(),
      checkOrigin(o.origin),
      o.by === undefined ? '' : cleanText(o.by, 256),
      cleanText(o.reason ?? 'removed from trusted'),
      ctx.auditMaxLen,
      ctx.host,
      g.trustChannel,
    ].map(String),
  )) as [number, number];
  return { entry: net.entry, removed: removed === 1, version };
}

/** The fleet-wide trusted entries and the version they are at, read atomically. */
export async function readTrusted(redis: Redis, g: GlobalKeys): Promise<{ version: number; entries: TrustedEntry[] }> {
  const res = await withRedis('trusted list', () => redis.multi().get(g.trustVersion).hgetall(g.trusted).exec());
  if (!res) throw new PortcullisError('PC_REDIS_UNAVAILABLE', 'reading the trusted list was aborted');
  const [[verErr, ver], [allErr, all]] = res as [[Error | null, string | null], [Error | null, Record<string, string>]];
  if (verErr || allErr) throw new PortcullisError('PC_INTERNAL', `Redis rejected the trusted list read: ${(verErr ?? allErr)?.message ?? ''}`);
  const entries = Object.entries(all ?? {}).map(([entry, json]) => decodeTrusted(entry, json));
  return { version: Number(ver ?? 0), entries: entries.sort((a, b) => a.entry.localeCompare(b.entry)) };
}

function decodeTrusted(entry: string, json: string): TrustedEntry {
  let meta: Record<string, unknown> = {};
  try {
    const v: unknown = JSON.parse(json);
    if (typeof v === 'object' && v !== null) meta = v as Record<string, unknown>;
  } catch {
    // an unreadable record still trusts its entry; only the details are lost
  }
  const out: TrustedEntry = {
    entry,
    at: typeof meta.at === 'number' ? meta.at : 0,
    origin: typeof meta.origin === 'string' ? checkOriginOr(meta.origin) : 'cli',
  };
  if (typeof meta.by === 'string') out.by = meta.by;
  return out;
}

function checkOriginOr(v: string): TrustedEntry['origin'] {
  try {
    return checkOrigin(v);
  } catch {
    return 'cli';
  }
}
