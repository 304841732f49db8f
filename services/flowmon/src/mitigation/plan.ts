import { isIP } from 'node:net';
import type { FlowAlertV1 } from '@portcullis/shared';
import type { Incident } from '../detect/detector.js';
import type { Attribution } from './attribution.js';

/** Aggregate limits match one traffic class (optionally one destination port). */
export type LimitClass = 'udp' | 'syn' | 'icmp' | 'other' | 'tcp_oos';

export interface AggregateLimit {
  cls: LimitClass;
  port?: number;
  /** Packets per second let through. */
  rate: number;
}

/** What one incident does to the firewall. Empty arrays/undefined: nothing of that kind. */
export interface MitigationPlan {
  /** Sources dropped entirely while the incident lasts. */
  dropSources: string[];
  /** Before conntrack ('raw') or after it ('ct': for the out-of-state metrics counted after it). */
  dropLevel: 'raw' | 'ct';
  limits: AggregateLimit[];
  /** New connections per second allowed from each source to this port. */
  perSource?: { port: number; rate: number };
  /** At most `max` concurrent connections per source to these ports. */
  connLimit?: { ports: number[]; max: number };
  /** Drop UDP from port 53 that answers nothing this host asked. */
  unsolicitedDns?: { exceptDport53: boolean };
}

export interface PlanContext {
  attribution: Attribution;
  /** Rate of the incident's metric now. */
  rate: number;
  /** Per-port rates of the incident's class (service ports only), to aim a limit at one port. */
  portRates: ReadonlyMap<number, number>;
  httpSourceRate: number;
  tcpServicePorts: readonly number[];
  udpServicePorts: readonly number[];
}

export const EMPTY_PLAN: MitigationPlan = { dropSources: [], dropLevel: 'raw', limits: [] };

/**
 * Attributable sources are dropped. What the drops leave (the unattributed share of the rate) gets
 * an aggregate limit at the detection threshold only when it is still a flood by itself, so a
 * single-source flood costs nobody else anything.
 */
export function planMitigation(incident: Incident, ctx: PlanContext): MitigationPlan {
  const { attribution } = ctx;
  const attack = incident.signal.attack;
  const sources = attribution.attributable.map((s) => s.ip);
  const residual = ctx.rate * (1 - attribution.attributedShare);
  const needAggregate = sources.length === 0 || residual > incident.threshold;
  const limitRate = incident.threshold;
  const dominantPort = (): number | undefined => {
    for (const [port, r] of ctx.portRates) if (r >= 0.5 * ctx.rate && ctx.rate > 0) return port;
    return undefined;
  };
  const limit = (cls: LimitClass): AggregateLimit[] => {
    if (!needAggregate) return [];
    const port = cls === 'udp' || cls === 'syn' ? dominantPort() : undefined;
    return [{ cls, rate: limitRate, ...(port !== undefined ? { port } : {}) }];
  };
  switch (attack) {
    case 'udp-flood':
      return { dropSources: sources, dropLevel: 'raw', limits: limit('udp') };
    case 'syn-flood':
      return { dropSources: sources, dropLevel: 'raw', limits: limit('syn') };
    case 'icmp-flood':
      return { dropSources: sources, dropLevel: 'raw', limits: limit('icmp') };
    case 'dns-amplification':
      // Reflectors are real DNS servers, maybe this host's own resolver: drop what nobody asked for instead.
      return { dropSources: [], dropLevel: 'raw', limits: [], unsolicitedDns: { exceptDport53: ctx.udpServicePorts.includes(53) } };
    case 'http-flood': {
      const port = incident.signal.port ?? 80;
      return { dropSources: sources, dropLevel: 'raw', limits: [], ...(needAggregate ? { perSource: { port, rate: ctx.httpSourceRate } } : {}) };
    }
    case 'slowloris':
      return {
        dropSources: sources,
        dropLevel: 'raw',
        limits: [],
        connLimit: { ports: [...ctx.tcpServicePorts], max: Math.max(1, Math.floor(incident.threshold)) },
      };
    case 'other':
      return { dropSources: sources, dropLevel: 'ct', limits: limit(incident.signal.metric === 'tcp_oos_pps' ? 'tcp_oos' : 'other') };
  }
}

/** The same plan with sources that are already in `prev` kept: drop sets only grow during an incident. */
export function mergePlans(prev: MitigationPlan, next: MitigationPlan): MitigationPlan {
  const dropSources = [...new Set([...prev.dropSources, ...next.dropSources])];
  const limits = next.limits.length > 0 ? next.limits : prev.limits;
  const perSource = next.perSource ?? prev.perSource;
  const connLimit = next.connLimit ?? prev.connLimit;
  const unsolicitedDns = next.unsolicitedDns ?? prev.unsolicitedDns;
  return {
    dropSources,
    dropLevel: prev.dropLevel,
    limits,
    ...(perSource ? { perSource } : {}),
    ...(connLimit ? { connLimit } : {}),
    ...(unsolicitedDns ? { unsolicitedDns } : {}),
  };
}

/** Whether two plans need the same rules (sources aside). */
export function sameRules(a: MitigationPlan, b: MitigationPlan): boolean {
  const key = (p: MitigationPlan): string =>
    JSON.stringify([p.dropLevel, p.limits, p.perSource ?? null, p.connLimit ?? null, p.unsolicitedDns ?? null, p.dropSources.length > 0]);
  return key(a) === key(b);
}

export function isEmptyPlan(p: MitigationPlan): boolean {
  return p.dropSources.length === 0 && p.limits.length === 0 && !p.perSource && !p.connLimit && !p.unsolicitedDns;
}

type MitigationEntry = NonNullable<FlowAlertV1['mitigations']>[number];

const LIMIT_TARGET: Record<LimitClass, string> = {
  udp: 'udp',
  syn: 'tcp syn',
  icmp: 'icmp, icmpv6 (not neighbour discovery)',
  other: 'protocols other than tcp, udp, icmp',
  tcp_oos: 'tcp out of state',
};

export function describePlan(p: MitigationPlan): { text: string; entries: MitigationEntry[] } {
  const entries: MitigationEntry[] = [];
  const parts: string[] = [];
  if (p.dropSources.length > 0) {
    const shown = p.dropSources.slice(0, 5).join(', ') + (p.dropSources.length > 5 ? ` and ${p.dropSources.length - 5} more` : '');
    entries.push({ kind: 'drop-sources', target: shown.slice(0, 256), sources: p.dropSources.length });
    parts.push(`dropping all traffic from ${shown}`);
  }
  for (const l of p.limits) {
    const target = `${LIMIT_TARGET[l.cls]}${l.port !== undefined ? ` to port ${l.port}` : ''}`;
    entries.push({ kind: 'rate-limit', target, rate: l.rate });
    parts.push(`${target} limited to ${Math.round(l.rate)}/s (known clients exempt)`);
  }
  if (p.perSource) {
    const target = `new connections to tcp port ${p.perSource.port}, per source`;
    entries.push({ kind: 'per-source-limit', target, rate: p.perSource.rate });
    parts.push(`${target} limited to ${p.perSource.rate}/s`);
  }
  if (p.connLimit) {
    const target = `connections per source to tcp ports ${p.connLimit.ports.join(',')}`.slice(0, 256);
    entries.push({ kind: 'conn-limit', target, rate: p.connLimit.max });
    parts.push(`at most ${p.connLimit.max} connections per source to the service ports`);
  }
  if (p.unsolicitedDns) {
    entries.push({ kind: 'drop-unsolicited', target: 'udp from port 53 that answers no query of this host' });
    parts.push('dropping DNS responses nobody here asked for');
  }
  const text = parts.length > 0 ? parts.join('; ') : 'none';
  return { text: text.slice(0, 1024), entries };
}

export function familyOf(ip: string): 4 | 6 {
  return isIP(ip) === 6 ? 6 : 4;
}
