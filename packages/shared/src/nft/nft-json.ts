/**
 * The subset of the nftables JSON schema (libnftables-json(5), schema version 1) that Portcullis
 * writes and reads. Objects are plain data so a whole transaction serialises with JSON.stringify.
 */

export type NftFamily = 'ip' | 'ip6' | 'inet' | 'arp' | 'bridge' | 'netdev';

export interface NftTable {
  family: NftFamily;
  name: string;
  handle?: number;
}

export interface NftChain {
  family: NftFamily;
  table: string;
  name: string;
  handle?: number;
  type?: 'filter' | 'nat' | 'route';
  hook?: 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting' | 'ingress';
  prio?: number;
  policy?: 'accept' | 'drop';
}

/** A set element with per-element timeout/expiry in seconds (nft converts to milliseconds). */
export interface NftElemObject {
  elem: { val: NftValue; timeout?: number; expires?: number };
}

export type NftElement = string | number | NftElemObject;

export interface NftSet {
  family: NftFamily;
  table: string;
  name: string;
  handle?: number;
  type?: string;
  flags?: ('constant' | 'interval' | 'timeout' | 'dynamic')[];
  /** Default timeout of elements, seconds. */
  timeout?: number;
  elem?: NftElement[];
}

/** `add/delete element`: the set is addressed by family, table and (set) name. */
export interface NftElementCmd {
  family: NftFamily;
  table: string;
  name: string;
  elem: NftElement[];
}

export type NftValue = string | number | { range: [NftValue, NftValue] } | { set: NftValue[] };

export type NftLeft =
  | { payload: { protocol: string; field: string } }
  | { meta: { key: string } };

export type NftStatement =
  | { match: { op: '==' | '!=' | 'in'; left: NftLeft; right: NftValue } }
  | { accept: null }
  | { drop: null }
  | { reject: { type: 'tcp reset' } | { type: 'icmpx' | 'icmp' | 'icmpv6'; expr: string } }
  | { counter: null | { packets: number; bytes: number } };

export interface NftRule {
  family: NftFamily;
  table: string;
  chain: string;
  handle?: number;
  comment?: string;
  expr: NftStatement[];
}

export interface NftMetainfo {
  version: string;
  release_name?: string;
  json_schema_version: number;
}

/** One entry of the top-level `nftables` array that `list` returns: exactly one key is set. */
export interface NftObject {
  metainfo?: NftMetainfo;
  table?: NftTable;
  chain?: NftChain;
  set?: NftSet;
  rule?: NftRule;
  [kind: string]: unknown;
}

export type NftCommandObject =
  | { table: NftTable }
  | { chain: NftChain }
  | { set: NftSet }
  | { element: NftElementCmd }
  | { rule: NftRule };

/** What `list` can target. */
export type NftListTarget =
  | { ruleset: null }
  | { tables: { family?: NftFamily } | null }
  | { table: { family: NftFamily; name: string } }
  | { set: { family: NftFamily; table: string; name: string } }
  | { chain: { family: NftFamily; table: string; name: string } };

export type NftCommand =
  | { add: NftCommandObject }
  | { create: NftCommandObject }
  | { delete: NftCommandObject }
  | { flush: { table: NftTable } | { chain: NftChain } | { set: NftSet } | { ruleset: null } };

/** The document libnftables and `nft -j -f` take: one document is one atomic transaction. */
export interface NftDocument {
  nftables: (NftCommand | { list: NftListTarget })[];
}

// ---- builders -----------------------------------------------------------------------------------

export const nft = {
  add: (obj: NftCommandObject): NftCommand => ({ add: obj }),
  create: (obj: NftCommandObject): NftCommand => ({ create: obj }),
  delete: (obj: NftCommandObject): NftCommand => ({ delete: obj }),
  flushChain: (family: NftFamily, table: string, name: string): NftCommand => ({
    flush: { chain: { family, table, name } },
  }),
  flushSet: (family: NftFamily, table: string, name: string): NftCommand => ({
    flush: { set: { family, table, name } },
  }),

  table: (family: NftFamily, name: string): { table: NftTable } => ({ table: { family, name } }),
  chain: (chain: NftChain): { chain: NftChain } => ({ chain }),
  set: (set: NftSet): { set: NftSet } => ({ set }),
  rule: (rule: NftRule): { rule: NftRule } => ({ rule }),
  elements: (family: NftFamily, table: string, set: string, elem: NftElement[]): { element: NftElementCmd } => ({
    element: { family, table, name: set, elem },
  }),

  /** An element; with a timeout (seconds) it expires by itself, `expires` below `timeout` starts it part-way. */
  elem(val: string, opts: { timeout?: number; expires?: number } = {}): NftElement {
    if (opts.timeout === undefined && opts.expires === undefined) return val;
    const e: NftElemObject['elem'] = { val };
    if (opts.timeout !== undefined) e.timeout = opts.timeout;
    if (opts.expires !== undefined) e.expires = opts.expires;
    return { elem: e };
  },

  payload: (protocol: string, field: string): NftLeft => ({ payload: { protocol, field } }),
  meta: (key: string): NftLeft => ({ meta: { key } }),
  match: (left: NftLeft, right: NftValue, op: '==' | '!=' = '=='): NftStatement => ({ match: { op, left, right } }),
  /** A reference to a named set, as the right-hand side of a match. */
  setRef: (name: string): string => `@${name}`,
  /** An anonymous set; a single value is written bare, as nft itself does. */
  anonSet: (values: NftValue[]): NftValue => (values.length === 1 ? values[0]! : { set: values }),
  range: (from: NftValue, to: NftValue): NftValue => ({ range: [from, to] }),

  drop: (): NftStatement => ({ drop: null }),
  accept: (): NftStatement => ({ accept: null }),
  rejectTcpReset: (): NftStatement => ({ reject: { type: 'tcp reset' } }),
  /** icmpx works for both address families in an inet table. */
  rejectIcmpx: (code = 'port-unreachable'): NftStatement => ({ reject: { type: 'icmpx', expr: code } }),
};

/** A short human description of a command, for error messages (never the whole element list). */
export function describeCommand(cmd: NftCommand | { list: NftListTarget }): string {
  const [verb, body] = Object.entries(cmd)[0] as [string, Record<string, unknown>];
  const [kind, obj] = Object.entries(body ?? {})[0] ?? ['?', {}];
  const o = (obj ?? {}) as Record<string, unknown>;
  const where = [o.family, o.table, o.chain, o.name].filter((x) => typeof x === 'string').join(' ');
  const count = Array.isArray(o.elem) ? ` (${o.elem.length} elements)` : '';
  return `${verb} ${kind}${where ? ` ${where}` : ''}${count}`;
}
