import { PortcullisError, type SourceRef } from '@portcullis/shared';
import type { L4Proto, PortRange, PortSpec, ProtocolSpec } from './backend.js';
import type { ServiceTable } from './etc-services.js';

export const PORT_PROTOCOLS: readonly L4Proto[] = ['tcp', 'udp', 'sctp', 'udplite'];

const MAX_PORT = 65535;

/**
 * Parses a fail2ban `port` value: comma (or space) separated ports, service names and ranges
 * `a:b` (iptables style; either end may be a service name) or `a-b` (nft style, numbers only, since
 * service names contain dashes). A set covering every port (`0:65535`, `1:65535`) is 'all'.
 */
export function parsePortSpec(value: string, services: ServiceTable, ref?: SourceRef, protocols: ProtocolSpec = 'all'): PortSpec {
  const prefer = protocols === 'all' ? undefined : protocols;
  const items = value.split(/[\s,]+/).filter(Boolean);
  if (items.length === 0) throw invalid(`port is empty`, ref);
  const ranges: PortRange[] = [];
  for (const item of items) {
    const colon = item.split(':');
    const dash = /^(\d+)-(\d+)$/.exec(item);
    let range: PortRange;
    if (colon.length === 2) {
      range = { from: resolvePort(colon[0]!, item, services, prefer, ref), to: resolvePort(colon[1]!, item, services, prefer, ref) };
    } else if (colon.length > 2) {
      throw invalid(`port "${item}" is not a port, service name or range`, ref);
    } else if (dash) {
      range = { from: resolvePort(dash[1]!, item, services, prefer, ref), to: resolvePort(dash[2]!, item, services, prefer, ref) };
    } else {
      const port = resolvePort(item, item, services, prefer, ref);
      range = { from: port, to: port };
    }
    if (range.from > range.to) throw invalid(`port range "${item}" is reversed`, ref);
    ranges.push(range);
  }
  const merged = mergeRanges(ranges);
  const only = merged[0]!;
  if (merged.length === 1 && only.from <= 1 && only.to === MAX_PORT) return 'all';
  return merged;
}

/**
 * Parses a fail2ban `protocol` value: `tcp`, `udp`, `sctp`, `udplite`, lists of them, or `all`.
 */
export function parseProtocolSpec(value: string, ref?: SourceRef): ProtocolSpec {
  const items = value
    .toLowerCase()
    .split(/[\s,]+/)
    .filter(Boolean);
  if (items.length === 0) throw invalid('protocol is empty', ref);
  if (items.includes('all')) return 'all';
  const out: L4Proto[] = [];
  for (const item of items) {
    if (!(PORT_PROTOCOLS as readonly string[]).includes(item)) {
      throw invalid(`protocol "${item}" is not one of ${PORT_PROTOCOLS.join(', ')}, all`, ref);
    }
    if (!out.includes(item as L4Proto)) out.push(item as L4Proto);
  }
  return out;
}

/** Sorted, with overlapping and adjacent ranges joined (nft rejects overlapping set intervals). */
export function mergeRanges(ranges: readonly PortRange[]): PortRange[] {
  const sorted = [...ranges].sort((a, b) => a.from - b.from || a.to - b.to);
  const out: PortRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.from <= last.to + 1) last.to = Math.max(last.to, r.to);
    else out.push({ ...r });
  }
  return out;
}

function resolvePort(token: string, item: string, services: ServiceTable, prefer: readonly string[] | undefined, ref?: SourceRef): number {
  if (/^\d+$/.test(token)) {
    const n = Number(token);
    if (n > MAX_PORT) throw invalid(`port ${token} in "${item}" is above ${MAX_PORT}`, ref);
    return n;
  }
  const port = services.lookup(token, prefer);
  if (port === undefined) throw invalid(`unknown service name "${token}" in port "${item}" (not in /etc/services)`, ref);
  return port;
}

function invalid(message: string, ref?: SourceRef): PortcullisError {
  return new PortcullisError('PC_CONFIG_INVALID', message, ref ? { location: { file: ref.file, line: ref.line } } : {});
}
