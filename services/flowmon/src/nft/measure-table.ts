import type { ServicePort } from '../config/service-ports.js';
import { fx, type Expr, type FlowCommand, type FlowRule } from './flow-json.js';

/**
 * The measuring table: named counters only, no sets, so listing it every tick stays cheap
 * (`list counters` in nftables 1.0.x fetches every set element of every table, which takes
 * hundreds of milliseconds next to a large ban set; `list table` of a small table does not).
 *
 * It counts before any mitigation (priority -320, ahead of flowmon's guard at -310 and of
 * conntrack at -200), so a flood stays visible while it is being dropped.
 */

export const COUNT_PRIORITY = -320;
/** After conntrack (-200) so `ct state` is known; before the guard table's input chain (-5). */
export const CT_COUNT_PRIORITY = -10;

/** Class counters; per-port counters are named by portCounter(). */
export const CLASS_COUNTERS = ['all', 'tcp', 'syn', 'udp', 'dns', 'icmp', 'other', 'tcp_oos'] as const;
export type ClassCounter = (typeof CLASS_COUNTERS)[number];

/**
 * The nft object name of a class counter. Prefixed: libnftables reads a bare name in JSON as an
 * expression first, and `tcp`, `udp` or `icmp` would be taken for the protocol.
 */
export const classCounter = (c: ClassCounter): string => `m_${c}`;

/** `p_<proto>_<port>`: packets to a service port; `n_tcp_<port>`: connection-opening SYNs to it. */
export function portCounter(kind: 'p' | 'n', p: ServicePort): string {
  return `${kind}_${p.proto}_${p.port}`;
}

export function measureCommands(table: string, ports: readonly ServicePort[]): FlowCommand[] {
  const family = 'inet' as const;
  const cmds: FlowCommand[] = [
    // add + delete + add: one transaction that starts from an empty table whether or not one existed.
    { add: { table: { family, name: table } } },
    { delete: { table: { family, name: table } } },
    { add: { table: { family, name: table } } },
  ];
  const tcp = ports.filter((p) => p.proto === 'tcp');
  const udp = ports.filter((p) => p.proto === 'udp');
  const counters = [...CLASS_COUNTERS.map(classCounter), ...ports.map((p) => portCounter('p', p)), ...tcp.map((p) => portCounter('n', p))];
  for (const name of counters) cmds.push({ add: { counter: { family, table, name } } });

  const chain = (name: string, base?: { hook: 'prerouting' | 'input'; prio: number }): void => {
    cmds.push({ add: { chain: { family, table, name, ...(base ? { type: 'filter', hook: base.hook, prio: base.prio, policy: 'accept' } : {}) } } });
  };
  chain('count', { hook: 'prerouting', prio: COUNT_PRIORITY });
  chain('c_tcp');
  chain('c_syn');
  chain('c_udp');
  chain('c_icmp');
  chain('ct_count', { hook: 'input', prio: CT_COUNT_PRIORITY });

  const rule = (chainName: string, expr: Expr[], comment?: string): void => {
    const r: FlowRule = { family, table, chain: chainName, expr };
    if (comment) r.comment = comment;
    cmds.push({ add: { rule: r } });
  };
  const portMap = (kind: 'p' | 'n', list: ServicePort[], proto: 'tcp' | 'udp'): Expr =>
    fx.counterMap(
      fx.payload(proto, 'dport'),
      list.map((p) => [p.port, portCounter(kind, p)]),
    );

  // Loopback is the host talking to itself (NATS, Redis, local proxies), never a flood from outside.
  rule('count', [fx.match(fx.meta('iif'), 'lo'), fx.ret()]);
  // Only traffic for this host: a router's forwarded packets are not its load.
  rule('count', [fx.match(fx.fibDaddrType(), 'local', '!='), fx.ret()]);
  rule('count', [fx.counterRef(classCounter('all'))]);
  // Plain rules, not a verdict map: an anonymous map costs ~0.3 ms more on every listing.
  rule('count', [fx.match(fx.meta('l4proto'), 'tcp'), fx.goto('c_tcp')]);
  rule('count', [fx.match(fx.meta('l4proto'), 'udp'), fx.goto('c_udp')]);
  rule('count', [fx.match(fx.meta('l4proto'), 'icmp'), fx.goto('c_icmp')]);
  rule('count', [fx.match(fx.meta('l4proto'), 'ipv6-icmp'), fx.goto('c_icmp')]);
  rule('count', [fx.counterRef(classCounter('other'))]);

  rule('c_tcp', [fx.counterRef(classCounter('tcp'))]);
  if (tcp.length > 0) rule('c_tcp', [portMap('p', tcp, 'tcp')]);
  rule('c_tcp', [fx.match(fx.synAck(), 'syn'), fx.jump('c_syn')]);
  rule('c_syn', [fx.counterRef(classCounter('syn'))]);
  if (tcp.length > 0) rule('c_syn', [portMap('n', tcp, 'tcp')]);

  // Responses from port 53 are counted apart: a flood of them is DNS amplification, not a UDP flood.
  rule('c_udp', [fx.match(fx.payload('udp', 'sport'), 53), fx.counterRef(classCounter('dns'))]);
  rule('c_udp', [fx.match(fx.payload('udp', 'sport'), 53, '!='), fx.counterRef(classCounter('udp'))]);
  if (udp.length > 0) rule('c_udp', [portMap('p', udp, 'udp')]);
  rule('c_icmp', [fx.counterRef(classCounter('icmp'))]);

  // TCP that conntrack finds invalid or that opens a connection without SYN: ACK, RST and FIN floods.
  rule('ct_count', [fx.match(fx.meta('iif'), 'lo'), fx.ret()]);
  rule('ct_count', [fx.match(fx.meta('l4proto'), 'tcp'), fx.match(fx.synAck(), 'syn', '!='), fx.match(fx.ct('state'), ['invalid', 'new'], 'in'), fx.counterRef(classCounter('tcp_oos'))]);
  return cmds;
}

export function dropMeasureCommands(table: string): FlowCommand[] {
  return [{ add: { table: { family: 'inet', name: table } } }, { delete: { table: { family: 'inet', name: table } } }];
}
