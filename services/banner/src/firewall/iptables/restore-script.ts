import { PortcullisError } from '@portcullis/shared';
import type { JailEnforcement, L4Proto, PortRange } from '../backend.js';
import { PORT_PROTOCOLS } from '../port-spec.js';
import { commentFor, jailFromComment, jailNames, MAX_CHAIN_NAME } from './names.js';
import type { SavedRule, SavedTable } from './save-parser.js';

export type IpFamily = 4 | 6;

export const DEFAULT_HOOK_CHAIN = 'INPUT';
/** xt_multiport's XT_MULTI_PORTS: at most 15 ports per rule, a range counting as two. */
const MULTIPORT_MAX = 15;
const CHAIN_NAME_RE = /^[A-Za-z0-9_.-]+$/;

/** What of one filter table (iptables or ip6tables) this owner created, read back from the kernel. */
export interface OwnedRules {
  /** Jail chain -> jail (chains holding one of our set-match rules). */
  chains: Map<string, string>;
  /** Our jump rules into those chains, in whatever chain they sit. */
  jumps: SavedRule[];
  /** Set name -> jail, from our set-match rules. */
  sets: Map<string, string>;
}

export function ownedRules(table: SavedTable, owner: string): OwnedRules {
  const out: OwnedRules = { chains: new Map(), jumps: [], sets: new Map() };
  const ours = table.rules.filter((r) => r.comment !== undefined && jailFromComment(owner, r.comment) !== undefined);
  for (const r of ours) {
    if (r.matchSets.length === 0) continue;
    const jail = jailFromComment(owner, r.comment!)!;
    out.chains.set(r.chain, jail);
    for (const s of r.matchSets) out.sets.set(s, jail);
  }
  for (const r of ours) if (r.target !== undefined && out.chains.has(r.target) && r.chain !== r.target) out.jumps.push(r);
  return out;
}

/**
 * The `iptables-restore --noflush` input that makes one family's filter table hold exactly these
 * jails: each jail chain is declared (created, or flushed when it exists) and refilled, our old
 * jumps are deleted and the new ones inserted at the top of their hook chain, and chains of jails
 * no longer listed are removed. One COMMIT: the kernel applies all of it or none.
 */
export function setupScript(family: IpFamily, owner: string, jails: readonly JailEnforcement[], table: SavedTable): string {
  const owned = ownedRules(table, owner);
  const wanted = jails.map((j) => ({ j, names: jailNames(j.jail), hook: hookChain(j) }));
  for (const { j, names, hook } of wanted) {
    if (table.chains.has(names.chain) && !owned.chains.has(names.chain)) {
      throw new PortcullisError(
        'PC_FIREWALL',
        `jail ${j.jail}: chain ${names.chain} exists in the ${tool(family)} filter table but was not created by Portcullis (is fail2ban running with an iptables action?); remove it or stop the other program`,
      );
    }
    if (!table.chains.has(hook)) {
      throw new PortcullisError('PC_FIREWALL', `jail ${j.jail}: chain ${hook} (the action's chain option) does not exist in the ${tool(family)} filter table`);
    }
    const set = family === 4 ? names.set4 : names.set6;
    const foreign = table.rules.find((r) => r.matchSets.includes(set) && !owned.sets.has(set));
    if (foreign) {
      throw new PortcullisError('PC_FIREWALL', `jail ${j.jail}: ipset ${set} is used by a rule Portcullis did not create (-A ${foreign.chain} ${foreign.spec})`);
    }
  }
  const keep = new Set(wanted.map((w) => w.names.chain));
  const stale = [...owned.chains.keys()].filter((c) => !keep.has(c)).sort();
  const lines = ['*filter'];
  for (const { names } of wanted) lines.push(`:${names.chain} - [0:0]`);
  for (const c of stale) lines.push(`:${c} - [0:0]`);
  for (const r of owned.jumps) lines.push(`-D ${r.chain} ${r.spec}`);
  for (const { j, names } of wanted) {
    const comment = quote(commentFor(owner, j.jail));
    const set = family === 4 ? names.set4 : names.set6;
    lines.push(`-A ${names.chain} -m set --match-set ${set} src -m comment --comment ${comment} -j ${verdictTarget(j, family)}`);
    lines.push(`-A ${names.chain} -m comment --comment ${comment} -j RETURN`);
  }
  // Inserted at position 1 in reverse, so the jumps end up in jail order at the top, as fail2ban's `-I`.
  for (const { j, names, hook } of [...wanted].reverse()) {
    const comment = quote(commentFor(owner, j.jail));
    for (const match of [...jumpMatches(j)].reverse()) {
      lines.push(`-I ${hook} 1 ${match}${match ? ' ' : ''}-m comment --comment ${comment} -j ${names.chain}`);
    }
  }
  for (const c of stale) lines.push(`-X ${c}`);
  lines.push('COMMIT', '');
  return lines.join('\n');
}

/** Removes every chain and jump this owner created in one family's filter table; undefined when there is none. */
export function teardownScript(owner: string, table: SavedTable): string | undefined {
  const owned = ownedRules(table, owner);
  if (owned.chains.size === 0 && owned.jumps.length === 0) return undefined;
  const chains = [...owned.chains.keys()].sort();
  const lines = ['*filter', ...chains.map((c) => `:${c} - [0:0]`), ...owned.jumps.map((r) => `-D ${r.chain} ${r.spec}`)];
  for (const c of chains) lines.push(`-X ${c}`);
  lines.push('COMMIT', '');
  return lines.join('\n');
}

export function hookChain(j: JailEnforcement): string {
  const chain = j.chain ?? DEFAULT_HOOK_CHAIN;
  if (!CHAIN_NAME_RE.test(chain) || chain.length > MAX_CHAIN_NAME) {
    throw new PortcullisError('PC_CONFIG_INVALID', `jail ${j.jail}: chain "${chain}" is not an iptables chain name (letters, digits, _ . -; at most ${MAX_CHAIN_NAME})`);
  }
  return chain;
}

/** fail2ban's blocktype defaults: `REJECT --reject-with icmp(6)-port-unreachable`, or DROP. */
function verdictTarget(j: JailEnforcement, family: IpFamily): string {
  if (j.verdict === 'drop') return 'DROP';
  return `REJECT --reject-with ${family === 4 ? 'icmp-port-unreachable' : 'icmp6-port-unreachable'}`;
}

/**
 * The match part of each jump rule: fail2ban's `-p <proto> -m multiport --dports <ports>` per
 * protocol (more rules when the ports exceed multiport's 15 slots), `-p <proto>` for all ports,
 * nothing for all ports of all protocols.
 */
export function jumpMatches(j: JailEnforcement): string[] {
  const protocols: 'all' | readonly L4Proto[] = j.ports !== 'all' && j.protocols === 'all' ? PORT_PROTOCOLS : j.protocols;
  if (protocols === 'all') return [''];
  if (j.ports === 'all') return protocols.map((p) => `-p ${p}`);
  const chunks = portChunks(j.ports);
  return protocols.flatMap((p) => chunks.map((c) => `-p ${p} -m multiport --dports ${c}`));
}

function portChunks(ports: readonly PortRange[]): string[] {
  const out: string[] = [];
  let cur: string[] = [];
  let used = 0;
  for (const r of ports) {
    const cost = r.from === r.to ? 1 : 2;
    if (used + cost > MULTIPORT_MAX) {
      out.push(cur.join(','));
      cur = [];
      used = 0;
    }
    cur.push(r.from === r.to ? String(r.from) : `${r.from}:${r.to}`);
    used += cost;
  }
  if (cur.length) out.push(cur.join(','));
  return out;
}

function quote(s: string): string {
  return `"${s.replace(/["\\]/g, '\\$&')}"`;
}

function tool(family: IpFamily): string {
  return family === 4 ? 'iptables' : 'ip6tables';
}
