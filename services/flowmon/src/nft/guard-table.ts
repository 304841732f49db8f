import type { TrustedNet } from '../mitigation/trusted.js';
import { AF, fx, type Expr, type FlowCommand, type FlowRule, type Json } from './flow-json.js';

/**
 * The guard table: what flowmon does to traffic. Static at start: trusted and known-client sets,
 * the sampled per-source sets, and the chains that jump to two dynamic chains (`pre_dyn` before
 * conntrack, `ct_dyn` after it) which the mitigator rewrites as alerts start and end.
 */

/** Between the measuring chain (-320) and conntrack (-200): drops here never create conntrack entries. */
export const SAMPLE_PRIORITY = -315;
export const PRE_PRIORITY = -310;
/** After conntrack: ct state, ct count and unsolicited-response checks need it. */
export const CT_PRIORITY = -5;

/** Source-sampling classes: each has a set per address family of recent senders with packet counts. */
export const SOURCE_CLASSES = ['udp', 'dns', 'icmp', 'syn', 'other'] as const;
export type SourceClass = (typeof SOURCE_CLASSES)[number];

export const sourceSetName = (cls: SourceClass, suffix: '4' | '6'): string => `src_${cls}${suffix}`;

/** Sampled senders are forgotten after this long without a sampled packet. */
export const SOURCE_SET_TIMEOUT_S = 10;
export const SOURCE_SET_SIZE = 4096;
/** A source that completed a connection (conntrack "assured") is a known client for this long. */
export const KNOWN_TIMEOUT_S = 3600;
export const KNOWN_SIZE = 65536;

export interface GuardTableOptions {
  table: string;
  trusted: readonly TrustedNet[];
  samplePercent: number;
  synSamplePercent: number;
}

export function guardCommands(opts: GuardTableOptions): FlowCommand[] {
  const family = 'inet' as const;
  const table = opts.table;
  const cmds: FlowCommand[] = [
    { add: { table: { family, name: table } } },
    { delete: { table: { family, name: table } } },
    { add: { table: { family, name: table } } },
  ];
  for (const af of AF) {
    const elem: Json[] = opts.trusted.filter((n) => n.family === af.family).map((n) => fx.prefix(n.addr, n.prefix, af.bits));
    cmds.push({ add: { set: { family, table, name: `trusted${af.suffix}`, type: af.type, flags: ['interval'], 'auto-merge': true, ...(elem.length ? { elem } : {}) } } });
    cmds.push({ add: { set: { family, table, name: `known${af.suffix}`, type: af.type, flags: ['timeout'], timeout: KNOWN_TIMEOUT_S, size: KNOWN_SIZE } } });
    for (const cls of SOURCE_CLASSES) {
      cmds.push({
        add: { set: { family, table, name: sourceSetName(cls, af.suffix), type: af.type, flags: ['timeout'], timeout: SOURCE_SET_TIMEOUT_S, size: SOURCE_SET_SIZE } },
      });
    }
  }
  const chain = (name: string, base?: { hook: 'prerouting' | 'input'; prio: number }): void => {
    cmds.push({ add: { chain: { family, table, name, ...(base ? { type: 'filter', hook: base.hook, prio: base.prio, policy: 'accept' } : {}) } } });
  };
  const rule = (chainName: string, expr: Expr[], comment?: string): void => {
    const r: FlowRule = { family, table, chain: chainName, expr };
    if (comment) r.comment = comment;
    cmds.push({ add: { rule: r } });
  };
  const perFamily = (chainName: string, head: Expr[], tail: (af: (typeof AF)[number]) => Expr[]): void => {
    for (const af of AF) rule(chainName, [...head, ...tail(af)]);
  };
  const sample = (cls: SourceClass) => (af: (typeof AF)[number]): Expr[] => [fx.setUpdate(sourceSetName(cls, af.suffix), fx.payload(af.proto, 'saddr'), [fx.counter()])];
  const notLoopback = (chainName: string): void => rule(chainName, [fx.match(fx.meta('iif'), 'lo'), fx.ret()]);

  chain('sample', { hook: 'prerouting', prio: SAMPLE_PRIORITY });
  chain('s_syn');
  chain('s_udp');
  chain('s_icmp');
  chain('pre', { hook: 'prerouting', prio: PRE_PRIORITY });
  chain('pre_dyn');
  chain('ct', { hook: 'input', prio: CT_PRIORITY });
  chain('ct_dyn');

  // Sampling: a share of the packets feeds the per-source sets that name an attack's sources.
  // Connection-opening SYNs are sampled more often: they are few unless flooded, and an HTTP
  // flood of a few hundred connections a second must still name its sources within a tick or two.
  notLoopback('sample');
  const gate = (percent: number): Expr[] => (percent < 100 ? [fx.match(fx.numgen(100), percent, '<')] : []);
  rule('sample', [fx.match(fx.synAck(), 'syn'), ...gate(opts.synSamplePercent), fx.goto('s_syn')]);
  rule('sample', [fx.match(fx.meta('l4proto'), 'tcp'), fx.ret()]);
  if (opts.samplePercent < 100) rule('sample', [fx.match(fx.numgen(100), opts.samplePercent, '>='), fx.ret()]);
  rule('sample', [
    fx.gotoMap(fx.meta('l4proto'), [
      ['udp', 's_udp'],
      ['icmp', 's_icmp'],
      ['ipv6-icmp', 's_icmp'],
    ]),
  ]);
  perFamily('sample', [], sample('other'));
  perFamily('s_syn', [], sample('syn'));
  perFamily('s_udp', [fx.match(fx.payload('udp', 'sport'), 53)], sample('dns'));
  perFamily('s_udp', [fx.match(fx.payload('udp', 'sport'), 53, '!=')], sample('udp'));
  perFamily('s_icmp', [], sample('icmp'));

  // Mitigation before conntrack: trusted addresses are never touched; everything else is in pre_dyn.
  notLoopback('pre');
  for (const af of AF) rule('pre', [fx.match(fx.payload(af.proto, 'saddr'), `@trusted${af.suffix}`), fx.ret()]);
  rule('pre', [fx.jump('pre_dyn')]);

  // After conntrack: remember clients that completed a connection (they are exempt from aggregate
  // limits), sample out-of-state TCP, then the conntrack-based mitigations in ct_dyn.
  notLoopback('ct');
  perFamily('ct', [fx.match(fx.ct('status'), 'assured', 'in'), fx.match(fx.ct('direction'), 'original')], (af) => [
    fx.setUpdate(`known${af.suffix}`, fx.payload(af.proto, 'saddr')),
  ]);
  const oos = [fx.match(fx.meta('l4proto'), 'tcp'), fx.match(fx.synAck(), 'syn', '!='), fx.match(fx.ct('state'), ['invalid', 'new'], 'in')];
  const sampled = opts.samplePercent < 100 ? [fx.match(fx.numgen(100), opts.samplePercent, '<')] : [];
  perFamily('ct', [...oos, ...sampled], sample('other'));
  for (const af of AF) rule('ct', [fx.match(fx.payload(af.proto, 'saddr'), `@trusted${af.suffix}`), fx.ret()]);
  rule('ct', [fx.jump('ct_dyn')]);
  return cmds;
}
