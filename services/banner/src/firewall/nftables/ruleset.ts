import type { JailEnforcement, L4Proto, PortSpec } from '../backend.js';
import { jailSetName } from '../names.js';
import { nft, type NftCommand, type NftStatement, type NftValue } from '@portcullis/shared';
import { PORT_PROTOCOLS } from '../port-spec.js';

export const FAMILY = 'inet';
export const CHAIN = 'input';
/** Just before the usual filter chains (priority 0), so a ban wins over their accepts. */
export const CHAIN_PRIORITY = -1;

const ADDR_FAMILIES = [
  { family: 4, payload: 'ip', type: 'ipv4_addr' },
  { family: 6, payload: 'ip6', type: 'ipv6_addr' },
] as const;

/**
 * The whole setup transaction: table, base chain and per-jail sets are added (a no-op when they
 * exist, so their elements survive), the chain's rules are replaced, and the sets of jails that
 * are gone are deleted (after the flush released them).
 */
export function setupCommands(table: string, jails: readonly JailEnforcement[], staleSets: readonly string[]): NftCommand[] {
  const cmds: NftCommand[] = [
    nft.add(nft.table(FAMILY, table)),
    nft.add(nft.chain({ family: FAMILY, table, name: CHAIN, type: 'filter', hook: 'input', prio: CHAIN_PRIORITY, policy: 'accept' })),
  ];
  for (const jail of jails) {
    for (const af of ADDR_FAMILIES) {
      cmds.push(nft.add(nft.set({ family: FAMILY, table, name: jailSetName(jail.jail, af.family), type: af.type, flags: ['timeout'] })));
    }
  }
  cmds.push(nft.flushChain(FAMILY, table, CHAIN));
  for (const jail of jails) {
    for (const af of ADDR_FAMILIES) {
      const saddr = nft.match(nft.payload(af.payload, 'saddr'), nft.setRef(jailSetName(jail.jail, af.family)));
      for (const tail of ruleTails(jail)) {
        cmds.push(nft.add(nft.rule({ family: FAMILY, table, chain: CHAIN, comment: `portcullis jail ${jail.jail}`.slice(0, 128), expr: [saddr, ...tail] })));
      }
    }
  }
  for (const name of staleSets) cmds.push(nft.delete(nft.set({ family: FAMILY, table, name })));
  return cmds;
}

/**
 * The statements after the address match. Drop is one rule. Reject needs two: tcp gets a reset,
 * everything else an ICMP(v6) port-unreachable (icmpx picks the family).
 */
export function ruleTails(jail: JailEnforcement): NftStatement[][] {
  // A port list only makes sense for protocols that have ports; `all` then means all of those.
  const protocols: 'all' | L4Proto[] = jail.ports !== 'all' && jail.protocols === 'all' ? [...PORT_PROTOCOLS] : jail.protocols;
  const dport = portMatch(jail.ports);
  if (jail.verdict === 'drop') return [[...protoMatch(protocols), ...dport, nft.drop()]];
  const tails: NftStatement[][] = [];
  const hasTcp = protocols === 'all' || protocols.includes('tcp');
  if (hasTcp) tails.push([...protoMatch(['tcp']), ...dport, nft.rejectTcpReset()]);
  const rest = protocols === 'all' ? 'all' : protocols.filter((p) => p !== 'tcp');
  if (rest === 'all' || rest.length > 0) tails.push([...protoMatch(rest), ...dport, nft.rejectIcmpx()]);
  return tails;
}

function protoMatch(protocols: 'all' | L4Proto[]): NftStatement[] {
  if (protocols === 'all') return [];
  return [nft.match(nft.meta('l4proto'), nft.anonSet(protocols))];
}

function portMatch(ports: PortSpec): NftStatement[] {
  if (ports === 'all') return [];
  const values: NftValue[] = ports.map((r) => (r.from === r.to ? r.from : nft.range(r.from, r.to)));
  return [nft.match(nft.payload('th', 'dport'), nft.anonSet(values))];
}
