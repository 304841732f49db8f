import type { FlowAlertV1 } from '@portcullis/shared';
import type { NotifyEvent } from './events.js';

export interface JailCount {
  jail: string;
  bans: number;
  unbans: number;
}

export interface Counted {
  name: string;
  count: number;
}

/**
 * What a grouped notification says about the events it stands for. Every count is exact over all
 * of them; only the lists are cut (top N, sample).
 */
export interface BatchSummary {
  total: number;
  bans: number;
  unbans: number;
  floods: number;
  firstAt: number;
  lastAt: number;
  distinctAddresses: number;
  /** Jails by events, most first, at most TOP_JAILS; `otherJails` counts the rest. */
  jails: JailCount[];
  otherJails: { jails: number; bans: number; unbans: number };
  /** Addresses by number of events, most first. */
  topAddresses: Counted[];
  /** Hosts whose logs showed the failures (or whose banner decided), most first. */
  hosts: Counted[];
  /** The first flood alerts of the batch, in order. */
  floodAlerts: FlowAlertV1[];
  /** The first events of the batch, in order. */
  sample: NotifyEvent[];
}

export const TOP_JAILS = 20;
export const TOP_ADDRESSES = 10;
export const TOP_HOSTS = 10;

export function summarize(events: readonly NotifyEvent[], sampleSize: number): BatchSummary {
  const jails = new Map<string, JailCount>();
  const addresses = new Map<string, number>();
  const hosts = new Map<string, number>();
  const floodAlerts: FlowAlertV1[] = [];
  let bans = 0;
  let unbans = 0;
  let floods = 0;
  let firstAt = Infinity;
  let lastAt = -Infinity;
  for (const e of events) {
    firstAt = Math.min(firstAt, e.at);
    lastAt = Math.max(lastAt, e.at);
    if (e.type === 'flood') {
      floods++;
      if (floodAlerts.length < sampleSize) floodAlerts.push(e.alert);
      bump(hosts, e.alert.host);
      continue;
    }
    const d = e.decision;
    const jail = jails.get(d.jail) ?? { jail: d.jail, bans: 0, unbans: 0 };
    jails.set(d.jail, jail);
    if (e.type === 'ban') {
      bans++;
      jail.bans++;
    } else {
      unbans++;
      jail.unbans++;
    }
    bump(addresses, d.ip);
    bump(hosts, d.seenOn ?? d.decidedBy);
  }
  const sortedJails = [...jails.values()].sort((a, b) => b.bans + b.unbans - (a.bans + a.unbans) || a.jail.localeCompare(b.jail));
  const rest = sortedJails.slice(TOP_JAILS);
  return {
    total: events.length,
    bans,
    unbans,
    floods,
    firstAt: events.length > 0 ? firstAt : 0,
    lastAt: events.length > 0 ? lastAt : 0,
    distinctAddresses: addresses.size,
    jails: sortedJails.slice(0, TOP_JAILS),
    otherJails: {
      jails: rest.length,
      bans: rest.reduce((n, j) => n + j.bans, 0),
      unbans: rest.reduce((n, j) => n + j.unbans, 0),
    },
    topAddresses: top(addresses, TOP_ADDRESSES),
    hosts: top(hosts, TOP_HOSTS),
    floodAlerts,
    sample: events.slice(0, sampleSize),
  };
}

function bump(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

export function top(map: Map<string, number>, n: number): Counted[] {
  return [...map]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, n)
    .map(([name, count]) => ({ name, count }));
}
