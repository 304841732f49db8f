import { AF, fx, type Expr, type FlowCommand, type FlowRule, type FlowSet, type Json } from '../nft/flow-json.js';
import { familyOf, type AggregateLimit, type MitigationPlan } from './plan.js';

/** An incident's plan and the short number that names its sets and rule comments (`i<n>`). */
export interface ActivePlan {
  n: number;
  plan: MitigationPlan;
}

/** Per-source limit state is forgotten this long after a source's last new connection. */
export const PER_SOURCE_TIMEOUT_S = 60;
export const DYNAMIC_SET_SIZE = 65536;

const ND_TYPES = ['nd-router-solicit', 'nd-router-advert', 'nd-neighbor-solicit', 'nd-neighbor-advert', 'nd-redirect', 'packet-too-big'];

export const dropSetName = (n: number, suffix: '4' | '6'): string => `i${n}_d${suffix}`;
const perSourceSetName = (n: number, suffix: '4' | '6'): string => `i${n}_r${suffix}`;
const connSetName = (n: number, suffix: '4' | '6'): string => `i${n}_c${suffix}`;

/** The sets an incident may own (created with it, deleted with it). */
export function incidentSets(table: string, n: number): FlowSet[] {
  const out: FlowSet[] = [];
  for (const af of AF) {
    out.push({ family: 'inet', table, name: dropSetName(n, af.suffix), type: af.type, flags: ['timeout'] });
    out.push({ family: 'inet', table, name: perSourceSetName(n, af.suffix), type: af.type, flags: ['timeout'], timeout: PER_SOURCE_TIMEOUT_S, size: DYNAMIC_SET_SIZE });
    out.push({ family: 'inet', table, name: connSetName(n, af.suffix), type: af.type, size: DYNAMIC_SET_SIZE });
  }
  return out;
}

/** Adds the drop-set elements (idempotent: an element already there stays). */
export function dropElementCommands(table: string, n: number, sources: readonly string[], timeoutSec: number): FlowCommand[] {
  const cmds: FlowCommand[] = [];
  for (const af of AF) {
    const elem: Json[] = sources.filter((ip) => familyOf(ip) === af.family).map((ip) => fx.timedElem(ip, timeoutSec));
    if (elem.length > 0) cmds.push({ add: { element: { family: 'inet', table, name: dropSetName(n, af.suffix), elem } } });
  }
  return cmds;
}

/**
 * One transaction that rewrites both dynamic chains for the plans now active: new incidents' sets
 * are added, their sources put in, every active rule written, and the sets of `removed` incidents
 * deleted once no rule refers to them.
 */
export function rebuildCommands(table: string, active: readonly ActivePlan[], added: readonly ActivePlan[], removed: readonly number[], banTimeoutSec: number): FlowCommand[] {
  const family = 'inet' as const;
  const cmds: FlowCommand[] = [
    { flush: { chain: { family, table, name: 'pre_dyn' } } },
    { flush: { chain: { family, table, name: 'ct_dyn' } } },
  ];
  for (const a of added) {
    for (const set of incidentSets(table, a.n)) cmds.push({ add: { set } });
    cmds.push(...dropElementCommands(table, a.n, a.plan.dropSources, banTimeoutSec));
  }
  const rule = (chain: 'pre_dyn' | 'ct_dyn', expr: Expr[], comment: string): void => {
    const r: FlowRule = { family, table, chain, expr, comment };
    cmds.push({ add: { rule: r } });
  };
  const counted = (tail: Expr[]): Expr[] => [...tail, fx.counter(), fx.drop()];

  // Before conntrack: per-source drops, per-source limits, then aggregate limits known clients skip.
  for (const { n, plan } of active) {
    if (plan.dropSources.length === 0 || plan.dropLevel !== 'raw') continue;
    for (const af of AF) rule('pre_dyn', counted([fx.match(fx.payload(af.proto, 'saddr'), `@${dropSetName(n, af.suffix)}`)]), `i${n}:drop`);
  }
  for (const { n, plan } of active) {
    if (!plan.perSource) continue;
    const { port, rate } = plan.perSource;
    for (const af of AF) {
      rule(
        'pre_dyn',
        counted([
          fx.match(fx.synAck(), 'syn'),
          fx.match(fx.payload('tcp', 'dport'), port),
          fx.setUpdate(perSourceSetName(n, af.suffix), fx.payload(af.proto, 'saddr'), [fx.limitOver(rate, rate * 2)]),
        ]),
        `i${n}:per-source`,
      );
    }
  }
  const rawLimits = active.flatMap(({ n, plan }) => plan.limits.filter((l) => l.cls !== 'tcp_oos').map((l) => ({ n, l })));
  if (rawLimits.length > 0) {
    for (const af of AF) rule('pre_dyn', [fx.match(fx.payload(af.proto, 'saddr'), `@known${af.suffix}`), fx.ret()], 'known clients');
    for (const { n, l } of rawLimits) for (const m of limitMatches(l)) rule('pre_dyn', counted([...m, fx.limitOver(l.rate, l.rate)]), `i${n}:limit`);
  }

  // After conntrack.
  for (const { n, plan } of active) {
    if (plan.dropSources.length === 0 || plan.dropLevel !== 'ct') continue;
    for (const af of AF) rule('ct_dyn', counted([fx.match(fx.payload(af.proto, 'saddr'), `@${dropSetName(n, af.suffix)}`)]), `i${n}:drop`);
  }
  for (const { n, plan } of active) {
    if (!plan.unsolicitedDns) continue;
    const expr: Expr[] = [fx.match(fx.payload('udp', 'sport'), 53)];
    if (plan.unsolicitedDns.exceptDport53) expr.push(fx.match(fx.payload('udp', 'dport'), 53, '!='));
    expr.push(fx.match(fx.ct('state'), 'new', 'in'));
    rule('ct_dyn', counted(expr), `i${n}:unsolicited`);
  }
  for (const { n, plan } of active) {
    if (!plan.connLimit || plan.connLimit.ports.length === 0) continue;
    const { ports, max } = plan.connLimit;
    for (const af of AF) {
      rule(
        'ct_dyn',
        counted([
          fx.match(fx.payload('tcp', 'dport'), fx.set(ports)),
          fx.match(fx.ct('state'), 'new', 'in'),
          fx.setAdd(connSetName(n, af.suffix), fx.payload(af.proto, 'saddr'), [fx.ctCountOver(max)]),
        ]),
        `i${n}:conn-limit`,
      );
    }
  }
  for (const { n, plan } of active) {
    for (const l of plan.limits.filter((x) => x.cls === 'tcp_oos')) {
      rule(
        'ct_dyn',
        counted([fx.match(fx.meta('l4proto'), 'tcp'), fx.match(fx.synAck(), 'syn', '!='), fx.match(fx.ct('state'), ['invalid', 'new'], 'in'), fx.limitOver(l.rate, l.rate)]),
        `i${n}:limit`,
      );
    }
  }

  for (const n of removed) for (const set of incidentSets(table, n)) cmds.push({ delete: { set: { family, table, name: set.name, type: set.type } } });
  return cmds;
}

/** The matches of an aggregate limit; ICMP needs one rule per family to spare neighbour discovery. */
function limitMatches(l: AggregateLimit): Expr[][] {
  switch (l.cls) {
    case 'udp': {
      const m = [fx.match(fx.meta('l4proto'), 'udp'), fx.match(fx.payload('udp', 'sport'), 53, '!=')];
      return [l.port !== undefined ? [...m, fx.match(fx.payload('udp', 'dport'), l.port)] : m];
    }
    case 'syn': {
      const m = [fx.match(fx.meta('l4proto'), 'tcp'), fx.match(fx.synAck(), 'syn')];
      return [l.port !== undefined ? [...m, fx.match(fx.payload('tcp', 'dport'), l.port)] : m];
    }
    case 'icmp':
      return [[fx.match(fx.meta('l4proto'), 'icmp')], [fx.match(fx.meta('l4proto'), 'ipv6-icmp'), fx.match(fx.payload('icmpv6', 'type'), fx.set(ND_TYPES), '!=')]];
    case 'other':
      return [[fx.match(fx.meta('l4proto'), fx.set(['tcp', 'udp', 'icmp', 'ipv6-icmp']), '!=')]];
    case 'tcp_oos':
      return [];
  }
}
