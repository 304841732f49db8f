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
import { queryAudit } from './audit/index.js';
import type { JailRuntime } from './jail-runtime.js';
import type { BanRecord, BanStore } from './store/index.js';
import type { Redis } from '@portcullis/shared';
import { normalizeIp } from './trust/index.js';

type Refusal = { ip: string; code: string; reason: string };

export interface ControlDeps {
  jails: ReadonlyMap<string, JailRuntime>;
  store: BanStore;
  host: string;
  clock: Clock;
  log: Logger;
  redis: Redis;
  /** Publishes decisions; resolves when the enforcement batches are stored (see DecisionFanout). */
  publishAll: (ds: BanDecisionV1[]) => Promise<void>;
  /** Feeds new bans to the recidive jails (and publishes the recidive bans that follow). */
  feedRecidive: (bans: readonly BanRecord[]) => Promise<void>;
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
    const created: BanRecord[] = [];
    const candidates: string[] = [];
    for (const raw of req.ips) {
      const ip = normalizeOrRefuse(raw, refused);
      if (!ip) continue;
      if ((await jail.trust.check(ip)).trusted) {
        refused.push({ ip, code: 'PC_TRUSTED_ADDRESS', reason: `${ip} is trusted in jail ${req.jail} (ignoreip/ignoreself)` });
        continue;
      }
      candidates.push(ip);
    }
    const opts = {
      bantime: req.bantime ?? jail.config.bantime,
      origin: 'cli' as const,
      reason: 'manual ban',
      ...(req.by ? { by: req.by } : {}),
      // An explicit --bantime is taken as given; otherwise repeat offenders escalate as from logs.
      ...(req.bantime === undefined ? { escalation: jail.escalation } : {}),
    };
    // Each chunk's decisions are published as soon as the store has them, while later chunks are
    // still being written: store, bus and firewalls work on a mass ban at the same time.
    await deps.store.banMany(req.jail, candidates, opts, async (outcomes) => {
      const decisions: BanDecisionV1[] = [];
      for (const o of outcomes) {
        if ('trusted' in o) {
          refused.push({ ip: o.ip, code: 'PC_TRUSTED_ADDRESS', reason: `${o.ip} is on the fleet-wide trusted list and cannot be banned` });
          continue;
        }
        done.push(o.ip);
        if (o.result.status !== 'unchanged') decisions.push(banDecision(o.result.ban, deps.host));
        if (o.result.status === 'created') created.push(o.result.ban);
      }
      await deps.publishAll(decisions);
    });
    await deps.feedRecidive(created);
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

  const trust = async (req: Extract<ControlRequestV1, { op: 'trust' }>): Promise<ControlReplyV1> => {
    const res = await deps.store.trustAndUnban(req.entry, { origin: 'cli', ...(req.by ? { by: req.by } : {}) });
    const now = deps.clock.now();
    await deps.publishAll(res.removed.map((r) => unbanDecision({ jail: r.jail, ip: r.ip, origin: 'cli' }, now, deps.host, `trusted (${res.entry})`, req.by)));
    deps.log.info({ entry: res.entry, unbanned: res.removed.length, by: req.by }, 'trusted fleet-wide');
    return { v: 1, ok: true, done: [res.entry, ...res.removed.map((r) => `${r.jail}:${r.ip}`)] };
  };

  const untrust = async (req: Extract<ControlRequestV1, { op: 'untrust' }>): Promise<ControlReplyV1> => {
    const res = await deps.store.untrust(req.entry, { origin: 'cli', ...(req.by ? { by: req.by } : {}) });
    if (!res.removed) return { v: 1, ok: true, done: [], refused: [{ ip: req.entry, code: 'PC_NOT_TRUSTED', reason: `${res.entry} is not in the fleet-wide trusted list` }] };
    return { v: 1, ok: true, done: [res.entry] };
  };

  const trusted = async (): Promise<ControlReplyV1> => {
    const t = await deps.store.trusted();
    return { v: 1, ok: true, trusted: t.entries.map((e) => ({ entry: e.entry, at: e.at, ...(e.by ? { by: e.by } : {}) })) };
  };

  const audit = async (req: Extract<ControlRequestV1, { op: 'audit' }>): Promise<ControlReplyV1> => {
    const { v: _v, op: _op, ...query } = req;
    const entries = await queryAudit(deps.redis, query);
    return { v: 1, ok: true, audit: entries.map((e) => ({ ...e })) };
  };

  return async (req) => {
    try {
      switch (req.op) {
        case 'trust':
          return await trust(req);
        case 'untrust':
          return await untrust(req);
        case 'trusted':
          return await trusted();
        case 'audit':
          return await audit(req);
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
