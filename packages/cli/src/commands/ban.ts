import { isIP } from 'node:net';
import { loadConfig, parseDuration, PortcullisError, type ControlReplyV1 } from '@portcullis/shared';
import { controlRequest } from '../control-client.js';
import { EXIT } from '../exit-codes.js';

type Common = { config: string; state: string; by?: string };

export async function banCommand(jail: string, ips: string[], opts: Common & { bantime?: string }): Promise<number> {
  const config = loadConfig(opts.config);
  const req = { v: 1 as const, op: 'ban' as const, jail, ips, by: opts.by ?? whoAmI(), ...(opts.bantime ? { bantime: parseDuration(opts.bantime) } : {}) };
  return report(await controlRequest(config, opts.state, req), 'banned');
}

/** `unban [JAIL] IP...`: when the first word is an address, the addresses are unbanned in every jail. */
export async function unbanCommand(words: string[], opts: Common): Promise<number> {
  const config = loadConfig(opts.config);
  const [first, ...rest] = words;
  if (!first) throw new PortcullisError('PC_ADDRESS_INVALID', 'unban needs at least one address');
  const allJails = isIP(first) !== 0;
  const ips = allJails ? words : rest;
  if (ips.length === 0) throw new PortcullisError('PC_ADDRESS_INVALID', `unban ${first}: no address given after the jail name`);
  const req = { v: 1 as const, op: 'unban' as const, ips, by: opts.by ?? whoAmI(), ...(allJails ? {} : { jail: first }) };
  return report(await controlRequest(config, opts.state, req), 'unbanned');
}

function report(reply: ControlReplyV1, verb: string): number {
  if (!reply.ok) throw new PortcullisError(reply.error.code as never, reply.error.message);
  const done = reply.done ?? [];
  const refused = reply.refused ?? [];
  process.stdout.write(`${verb} ${done.length} address${done.length === 1 ? '' : 'es'}\n`);
  for (const r of refused) process.stderr.write(`refused ${r.ip}: ${r.code}: ${r.reason}\n`);
  return refused.length > 0 ? EXIT.PARTIAL : EXIT.OK;
}

function whoAmI(): string {
  return `cli:${process.env.SUDO_USER ?? process.env.USER ?? 'unknown'}`;
}
