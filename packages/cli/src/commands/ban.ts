import { isIP } from 'node:net';
import { loadConfig, parseDuration, PortcullisError, type ControlReplyV1 } from '@portcullis/shared/client';
import { controlRequest, controlRequests } from '../control-client.js';
import { EXIT } from '../exit-codes.js';

type Common = { config: string; state: string; by?: string };

/**
 * Addresses per control request, by encoded size: NATS refuses messages over its max_payload
 * (1 MiB by default), and a reply that refuses every address is several times its request.
 */
const CHUNK_BYTES = 128 * 1024;

/** Splits addresses into runs whose JSON stays under CHUNK_BYTES. */
export function chunkAddresses(ips: readonly string[], maxBytes = CHUNK_BYTES): string[][] {
  const out: string[][] = [];
  let cur: string[] = [];
  let bytes = 0;
  for (const ip of ips) {
    const size = Buffer.byteLength(ip) + 3;
    if (cur.length > 0 && bytes + size > maxBytes) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(ip);
    bytes += size;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

export async function banCommand(jail: string, ips: string[], opts: Common & { bantime?: string }): Promise<number> {
  const config = loadConfig(opts.config);
  const base = { v: 1 as const, op: 'ban' as const, jail, by: opts.by ?? whoAmI(), ...(opts.bantime ? { bantime: parseDuration(opts.bantime) } : {}) };
  // All chunks go out at once, over one connection: the banner stores, publishes and enforces them side by side.
  const replies = await controlRequests(config, opts.state, chunkAddresses(ips).map((chunk) => ({ ...base, ips: chunk })));
  return report(mergeReplies(replies), 'banned');
}

/** One reply for a chunked request: the first failure, else every chunk's done and refused lists. */
function mergeReplies(replies: ControlReplyV1[]): ControlReplyV1 {
  const failed = replies.find((r) => !r.ok);
  if (failed) return failed;
  return { v: 1, ok: true, done: replies.flatMap((r) => (r.ok ? (r.done ?? []) : [])), refused: replies.flatMap((r) => (r.ok ? (r.refused ?? []) : [])) };
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
