import { PortcullisError } from '@portcullis/shared';
import { normalizeIp } from '../trust/normalize-ip.js';
import { manualBanScript } from './ban-scripts.js';
import { decideLoop, endOf, type AttemptReply } from './decide-loop.js';
import { decodeBanRecord } from './record-codec.js';
import { runScript } from './script-runner.js';
import type { StoreContext } from './store-context.js';
import type { ManualBanInput, ManualBanResult } from './types.js';
import { checkBantime, checkJail, checkOrigin, cleanMatches, cleanText } from './validate.js';

export async function manualBan(ctx: StoreContext, jailName: string, ipText: string, o: ManualBanInput): Promise<ManualBanResult> {
  const jail = checkJail(jailName);
  const ip = normalizeIp(ipText);
  const k = ctx.keysOf(jail);
  const bantime = checkBantime(o.bantime);
  const origin = checkOrigin(o.origin);
  const reason = cleanText(o.reason);
  const matches = cleanMatches(o.matches);

  const [, result] = await Promise.all([
    ctx.register(jail),
    decideLoop<ManualBanResult>(
      ctx,
      ip,
      bantime,
      o.escalation,
      async (a): Promise<AttemptReply<ManualBanResult>> => {
        const t = ctx.now();
        const { until, score } = endOf(t, a.bantime);
        const record: Record<string, unknown> = { jail, ip, at: t, until, bantime: a.bantime, origin, reason, failures: 0 };
        if (o.by !== undefined) record.by = cleanText(o.by, 256);
        if (matches.length > 0) record.matches = matches;
        const [status, payload] = (await runScript(
          ctx.redis,
          manualBanScript,
          [k.bans, k.due, k.stats, k.off(ip), k.fail(ip), k.match(ip), k.failing, ctx.global.audit, ctx.global.trustVersion],
          [
            ip,
            t,
            JSON.stringify(record),
            score,
            ctx.historyTtlMs(jail),
            ctx.auditMaxLen,
            ctx.host,
            a.expected,
            o.escalation?.overallJails ? '1' : '0',
            ctx.prefix,
            jail,
            a.trustSeen,
          ].map(String),
        )) as [string, string | number | undefined];
        if (status === 'needs') return { kind: 'needs', previousBans: Number(payload) };
        if (status === 'stale') return { kind: 'stale' };
        return { kind: 'done', value: { status: status as ManualBanResult['status'], ban: decodeBanRecord(String(payload)) } };
      },
      () => {
        throw new PortcullisError('PC_TRUSTED_ADDRESS', `${ip} is on the fleet-wide trusted list and cannot be banned`);
      },
    ),
  ]);
  return result;
}
