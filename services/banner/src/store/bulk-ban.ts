import { endOf } from './decide-loop.js';
import { bulkBanScript, bulkBanSettleScript } from './bulk-ban-script.js';
import { manualBan } from './manual-ban.js';
import { decodeBanRecord } from './record-codec.js';
import { NO_TRUST_GATE } from './script-replies.js';
import { runScript } from './script-runner.js';
import type { StoreContext } from './store-context.js';
import type { BanRecord, ManualBanInput, ManualBanResult } from './types.js';
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
      if (gate) {
        const untrusted: string[] = [];
        for (const ip of todo) {
          if (gate.isTrusted(ip)) out.push({ ip, trusted: true });
          else untrusted.push(ip);
        }
        todo = untrusted;
      }
      if (todo.length === 0) break;
      const t = ctx.now();
      const { until, score } = endOf(t, firstBantime);
      const record: Record<string, unknown> = { jail, at: t, until, bantime: firstBantime, origin, reason, failures: 0 };
      if (by !== undefined) record.by = by;
      if (matches.length > 0) record.matches = matches;
      const decidedBy = ctx.host === '' ? {} : { decidedBy: ctx.host };
      const reply = (await runScript(
        ctx.redis,
        bulkBanScript,
        [k.bans, k.due, k.stats, k.failing, ctx.global.trustVersion, pendingKey(ctx)],
        [
          String(t),
          score,
          String(ctx.historyTtlMs(jail)),
          escalates ? '1' : '0',
          o.escalation?.overallJails ? '1' : '0',
          ctx.prefix,
          jail,
          String(gate ? gate.version() : NO_TRUST_GATE),
          jsonHead(record),
          jsonHead({ ...record, kind: 'ban', ...decidedBy }),
          jsonHead({ ...record, kind: 'extend', ...decidedBy }),
          ...todo,
        ],
      )) as (string | number)[];
      if (reply[0] === 'stale' && gate && attempt < MAX_STALE_RETRIES) {
        await gate.refresh();
        continue;
      }
      // its audit entries and offence history, written behind the decisions (see bulk-ban-script.ts);
      // a failure leaves the journal entry to the next settleBulkBans (the banner's sweep)
      if (reply[reply.length - 1] === 1) void settleOne(ctx).catch(() => undefined);
      // what decodeBanRecord reads back from the record the script wrote for a new ban
      const created: BanRecord = { jail, ip: '', at: t, until, bantime: firstBantime, origin, reason, failures: 0, matches: [], banCount: 0 };
      if (by !== undefined) created.by = by;
      const escalating: string[] = [];
      for (let i = 0; i < todo.length; i++) {
        const ip = todo[i]!;
        const status = reply[2 * i];
        const payload = reply[2 * i + 1] ?? '';
        if (status === 'c') out.push({ ip, result: { status: 'created', ban: { ...created, ip, matches: [...matches], banCount: Number(payload) } } });
        else if (status === 'e') out.push({ ip, result: { status: 'extended', ban: decodeBanRecord(String(payload)) } });
        else if (status === 'u') out.push({ ip, result: { status: 'unchanged', ban: decodeBanRecord(String(payload)) } });
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

/** An object's JSON without its closing brace, for the script to append fields to. */
function jsonHead(o: Record<string, unknown>): string {
  return JSON.stringify(o).slice(0, -1);
}

/** The journal of bulk bans whose audit entries and offence history are still to be written. */
function pendingKey(ctx: StoreContext): string {
  return `${ctx.prefix}bulk-ban:pending`;
}

/** Writes the oldest journal entry; the number of addresses it held (0: none was pending). */
async function settleOne(ctx: StoreContext): Promise<number> {
  return Number(await runScript(ctx.redis, bulkBanSettleScript, [pendingKey(ctx), ctx.global.audit], [ctx.prefix, ctx.auditMaxLen]));
}

/**
 * Writes every pending journal entry of bulk bans (their audit entries and offence history); any
 * banner may, each entry is written once. Resolves with the number of addresses written.
 */
export async function settleBulkBans(ctx: StoreContext): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await settleOne(ctx);
    if (n === 0) return total;
    total += n;
  }
}
