import { endOf } from './decide-loop.js';
import { bulkBanScript } from './bulk-ban-script.js';
import { manualBan } from './manual-ban.js';
import { decodeBanRecord } from './record-codec.js';
import { NO_TRUST_GATE } from './script-replies.js';
import { runScript } from './script-runner.js';
import type { StoreContext } from './store-context.js';
import type { ManualBanInput, ManualBanResult } from './types.js';
import { checkBantime, checkJail, checkOrigin, cleanMatches, cleanText } from './validate.js';
import { normalizeIp } from '../trust/normalize-ip.js';

/** Addresses per script call: keeps each call (Redis runs one at a time) to a few tens of ms. */
export const BULK_BAN_CHUNK = 2_000;
/** A trust list that keeps changing under us is reloaded at most this often per chunk. */
const MAX_STALE_RETRIES = 8;

/** One address' outcome: banned (created/extended/unchanged), or refused because it is trusted fleet-wide. */
export type BulkBanOutcome = { ip: string; result: ManualBanResult } | { ip: string; trusted: true };

/**
 * Manual ban of many addresses of one jail: one script call per BULK_BAN_CHUNK addresses, all sent
 * at once (pipelined), with the same outcome per address as manualBan. Addresses whose ban would
 * escalate go through manualBan one by one. `onChunk` sees each chunk's outcomes as soon as they
 * are known, so a caller can publish them while later chunks are still being stored.
 */
export async function bulkBan(
  ctx: StoreContext,
  jailName: string,
  ips: readonly string[],
  o: ManualBanInput,
  onChunk?: (outcomes: BulkBanOutcome[]) => Promise<void>,
): Promise<BulkBanOutcome[]> {
  const jail = checkJail(jailName);
  const bantime = checkBantime(o.bantime);
  const origin = checkOrigin(o.origin);
  const reason = cleanText(o.reason);
  const matches = cleanMatches(o.matches);
  const by = o.by === undefined ? undefined : cleanText(o.by, 256);
  const escalates = o.escalation !== undefined && o.escalation.increment && bantime > 0;
  const firstBantime = escalates ? o.escalation!.banTimeFor(0, ctx.random) : bantime;
  const k = ctx.keysOf(jail);
  const normalized = ips.map((ip) => normalizeIp(ip));
  await ctx.register(jail);

  const runChunk = async (chunk: string[]): Promise<BulkBanOutcome[]> => {
    const out: BulkBanOutcome[] = [];
    let todo = chunk;
    for (let attempt = 0; todo.length > 0; attempt++) {
      const gate = ctx.trustGate;
      const trusted = gate ? todo.filter((ip) => gate.isTrusted(ip)) : [];
      for (const ip of trusted) out.push({ ip, trusted: true });
      if (trusted.length) todo = todo.filter((ip) => !gate!.isTrusted(ip));
      if (todo.length === 0) break;
      const t = ctx.now();
      const { until, score } = endOf(t, firstBantime);
      const record: Record<string, unknown> = { jail, at: t, until, bantime: firstBantime, origin, reason, failures: 0 };
      if (by !== undefined) record.by = by;
      if (matches.length > 0) record.matches = matches;
      const reply = (await runScript(
        ctx.redis,
        bulkBanScript,
        [k.bans, k.due, k.stats, k.failing, ctx.global.audit, ctx.global.trustVersion],
        [
          String(t),
          JSON.stringify(record),
          score,
          String(ctx.historyTtlMs(jail)),
          ctx.auditMaxLen,
          ctx.host,
          escalates ? '1' : '0',
          o.escalation?.overallJails ? '1' : '0',
          ctx.prefix,
          jail,
          String(gate ? gate.version() : NO_TRUST_GATE),
          ...todo,
        ],
      )) as string[];
      if (reply[0] === 'stale' && gate && attempt < MAX_STALE_RETRIES) {
        await gate.refresh();
        continue;
      }
      const escalating: string[] = [];
      for (let i = 0; i < todo.length; i++) {
        const ip = todo[i]!;
        const status = reply[2 * i];
        const payload = reply[2 * i + 1] ?? '';
        if (status === 'c') out.push({ ip, result: { status: 'created', ban: decodeBanRecord(payload) } });
        else if (status === 'e') out.push({ ip, result: { status: 'extended', ban: decodeBanRecord(payload) } });
        else if (status === 'u') out.push({ ip, result: { status: 'unchanged', ban: decodeBanRecord(payload) } });
        else escalating.push(ip);
      }
      // repeat offenders: their ban time depends on their count, which manualBan settles one by one
      for (const ip of escalating) {
        try {
          out.push({ ip, result: await manualBan(ctx, jail, ip, o) });
        } catch (e) {
          if ((e as { code?: string }).code === 'PC_TRUSTED_ADDRESS') out.push({ ip, trusted: true });
          else throw e;
        }
      }
      break;
    }
    await onChunk?.(out);
    return out;
  };

  const chunks: string[][] = [];
  for (let i = 0; i < normalized.length; i += BULK_BAN_CHUNK) chunks.push(normalized.slice(i, i + BULK_BAN_CHUNK));
  return (await Promise.all(chunks.map(runChunk))).flat();
}

