import {
  CONTRACTS,
  describeError,
  encodeMessage,
  isPortcullisError,
  type BanDecisionV1,
  type Clock,
  type ControlReplyV1,
  type ControlRequestV1,
  type JailStatus,
  type Logger,
} from '@portcullis/shared';
import { banDecision, unbanDecision } from './decision.js';
import type { JailRuntime } from './jail-runtime.js';
import type { BanStore } from './store/index.js';
import { normalizeIp } from './trust/index.js';

type Refusal = { ip: string; code: string; reason: string };

export interface ControlDeps {
  jails: ReadonlyMap<string, JailRuntime>;
  store: BanStore;
  host: string;
  clock: Clock;
  log: Logger;
  publishAll: (ds: BanDecisionV1[]) => Promise<void>;
}

/** Answers the CLI and API: status, ban, unban. A request never crashes the banner. */
export function createControlHandler(deps: ControlDeps): (req: ControlRequestV1) => Promise<ControlReplyV1> {
  const fail = (code: string, message: string): ControlReplyV1 => ({ v: 1, ok: false, error: { code, message } });

  const status = async (jailName?: string): Promise<ControlReplyV1> => {
    if (jailName && !deps.jails.has(jailName)) return fail('PC_JAIL_UNKNOWN', `no enabled jail named "${jailName}" (enabled: ${[...deps.jails.keys()].join(', ') || 'none'})`);
    const names = jailName ? [jailName] : [...deps.jails.keys()];
    const jails: JailStatus[] = [];
    for (const name of names) {
      const j = deps.jails.get(name)!;
      const s = await deps.store.status(name);
      const bans = await deps.store.activeBans(name);
      jails.push({
        jail: name,
        filter: j.config.filter.name,
        logpaths: j.config.logpath,
        currentlyFailed: s.currentlyFailed,
        totalFailed: s.totalFailed,
        failedIps: s.failedIps,
        currentlyBanned: s.currentlyBanned,
        totalBanned: s.totalBanned,
        bans: bans.map((b) => ({ ip: b.ip, until: b.until })),
      });
    }
    return { v: 1, ok: true, jails };
  };

  const ban = async (req: Extract<ControlRequestV1, { op: 'ban' }>): Promise<ControlReplyV1> => {
    const jail = deps.jails.get(req.jail);
    if (!jail) return fail('PC_JAIL_UNKNOWN', `no enabled jail named "${req.jail}"`);
    const done: string[] = [];
    const refused: Refusal[] = [];
    const decisions: BanDecisionV1[] = [];
    for (const raw of req.ips) {
      const ip = normalizeOrRefuse(raw, refused);
      if (!ip) continue;
      if (jail.trust.isTrusted(ip)) {
        refused.push({ ip, code: 'PC_TRUSTED_ADDRESS', reason: `${ip} is trusted in jail ${req.jail} (ignoreip/ignoreself)` });
        continue;
      }
      const res = await deps.store.ban(req.jail, ip, {
        bantime: req.bantime ?? jail.config.bantime,
        origin: 'cli',
        reason: 'manual ban',
        ...(req.by ? { by: req.by } : {}),
      });
      done.push(ip);
      if (res.status !== 'unchanged') decisions.push(banDecision(res.ban, deps.host));
    }
    await deps.publishAll(decisions);
    if (done.length) deps.log.info({ jail: req.jail, count: done.length, by: req.by }, 'manual ban');
    return { v: 1, ok: true, done, refused };
  };

  const unban = async (req: Extract<ControlRequestV1, { op: 'unban' }>): Promise<ControlReplyV1> => {
    if (req.jail && !deps.jails.has(req.jail)) return fail('PC_JAIL_UNKNOWN', `no enabled jail named "${req.jail}"`);
    const done: string[] = [];
    const refused: Refusal[] = [];
    const decisions: BanDecisionV1[] = [];
    const now = deps.clock.now();
    for (const raw of req.ips) {
      const ip = normalizeOrRefuse(raw, refused);
      if (!ip) continue;
      const removed = await deps.store.unban(req.jail ?? null, ip, { origin: 'cli', ...(req.by ? { by: req.by } : {}) });
      if (removed.length === 0) {
        refused.push({ ip, code: 'PC_NOT_BANNED', reason: `${ip} is not banned${req.jail ? ` in ${req.jail}` : ''}` });
        continue;
      }
      done.push(ip);
      for (const r of removed) decisions.push(unbanDecision({ jail: r.jail, ip: r.ip, origin: 'cli' }, now, deps.host, 'manual unban', req.by));
    }
    await deps.publishAll(decisions);
    if (done.length) deps.log.info({ jail: req.jail ?? '*', count: done.length, by: req.by }, 'manual unban');
    return { v: 1, ok: true, done, refused };
  };

  return async (req) => {
    try {
      switch (req.op) {
        case 'status':
          return await status(req.jail);
        case 'ban':
          return await ban(req);
        case 'unban':
          return await unban(req);
      }
    } catch (e) {
      deps.log.error({ op: req.op, err: describeError(e) }, 'control request failed');
      return fail(isPortcullisError(e) ? e.code : 'PC_INTERNAL', describeError(e));
    }
  };
}

function normalizeOrRefuse(raw: string, refused: Refusal[]): string | undefined {
  try {
    return normalizeIp(raw);
  } catch (e) {
    refused.push({ ip: raw, code: 'PC_ADDRESS_INVALID', reason: describeError(e) });
    return undefined;
  }
}

export function encodeReply(reply: ControlReplyV1): Uint8Array {
  return encodeMessage(CONTRACTS.controlReply, reply);
}
