import { loadConfig, parseDuration, PortcullisError, type ControlReplyV1, type Origin } from '@portcullis/shared/client';
import { controlRequest } from '../control-client.js';
import { EXIT } from '../exit-codes.js';

type Common = { config: string; state: string; by?: string };

function expectOk(reply: ControlReplyV1): Extract<ControlReplyV1, { ok: true }> {
  if (!reply.ok) throw new PortcullisError(reply.error.code as never, reply.error.message);
  return reply;
}

/** Move to trusted: unban everywhere and trust fleet-wide, in one step. */
export async function trustCommand(entry: string, opts: Common): Promise<number> {
  const config = loadConfig(opts.config);
  const reply = expectOk(await controlRequest(config, opts.state, { v: 1, op: 'trust', entry, by: opts.by ?? whoAmI() }));
  const [stored, ...unbanned] = reply.done ?? [];
  process.stdout.write(`trusted ${stored} on every host; unbanned ${unbanned.length}${unbanned.length ? `: ${unbanned.join(' ')}` : ''}\n`);
  return EXIT.OK;
}

export async function untrustCommand(entry: string, opts: Common): Promise<number> {
  const config = loadConfig(opts.config);
  const reply = expectOk(await controlRequest(config, opts.state, { v: 1, op: 'untrust', entry, by: opts.by ?? whoAmI() }));
  for (const r of reply.refused ?? []) process.stderr.write(`refused ${r.ip}: ${r.code}: ${r.reason}\n`);
  if (reply.refused?.length) return EXIT.PARTIAL;
  process.stdout.write(`no longer trusted: ${(reply.done ?? []).join(' ')}\n`);
  return EXIT.OK;
}

export async function trustedCommand(opts: Common & { json?: boolean }): Promise<number> {
  const config = loadConfig(opts.config);
  const reply = expectOk(await controlRequest(config, opts.state, { v: 1, op: 'trusted' }));
  const list = reply.trusted ?? [];
  if (opts.json) process.stdout.write(JSON.stringify(list, null, 2) + '\n');
  else for (const t of list) process.stdout.write(`${t.entry}\t${new Date(t.at).toISOString()}${t.by ? `\t${t.by}` : ''}\n`);
  return EXIT.OK;
}

export interface AuditOptions extends Common {
  jail?: string;
  ip?: string;
  origin?: string;
  kind?: string;
  since?: string;
  limit?: string;
  json?: boolean;
}

/** The audit log, newest first; --since takes a duration back from now (1h, 2d) or an ISO time. */
export async function auditCommand(opts: AuditOptions): Promise<number> {
  const config = loadConfig(opts.config);
  const since = opts.since === undefined ? undefined : parseSince(opts.since);
  const limit = opts.limit === undefined ? undefined : Number(opts.limit);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) throw new PortcullisError('PC_CONFIG_INVALID', `--limit ${opts.limit}: expected a positive integer`);
  const reply = expectOk(
    await controlRequest(config, opts.state, {
      v: 1,
      op: 'audit',
      ...(opts.jail ? { jail: opts.jail } : {}),
      ...(opts.ip ? { ip: opts.ip } : {}),
      ...(opts.origin ? { origin: opts.origin as Origin } : {}),
      ...(opts.kind ? { kind: opts.kind as never } : {}),
      ...(since !== undefined ? { since } : {}),
      ...(limit !== undefined ? { limit } : {}),
    }),
  );
  const entries = reply.audit ?? [];
  if (opts.json) {
    process.stdout.write(JSON.stringify(entries, null, 2) + '\n');
    return EXIT.OK;
  }
  for (const e of entries) {
    const f = (k: string) => (e[k] === undefined ? '' : String(e[k]));
    const until = e.until === null ? 'permanent' : e.until === undefined ? '' : new Date(Number(e.until)).toISOString();
    process.stdout.write(
      [new Date(Number(e.at)).toISOString(), f('kind'), f('jail'), f('ip'), f('origin'), f('by') || f('seenOn'), until, f('reason')].join('\t') + '\n',
    );
  }
  return EXIT.OK;
}

function parseSince(s: string): number {
  const t = Date.parse(s);
  if (/^\d{4}-\d\d-\d\d/.test(s) && Number.isFinite(t)) return t;
  return Date.now() - parseDuration(s) * 1000;
}

function whoAmI(): string {
  return `cli:${process.env.SUDO_USER ?? process.env.USER ?? 'unknown'}`;
}
