import type { NftCommand } from '@portcullis/shared';

/**
 * The nftables JSON (libnftables-json(5)) constructs flowmon writes beyond the shared builders'
 * subset: named counters, counter and verdict maps, dynamic sets, limits, numgen, ct and fib.
 * The shapes are what `nft -j list` prints for the equivalent nft syntax (checked on nftables 1.0.6).
 */

export type Family = 'inet';
export type Json = string | number | boolean | null | Json[] | { [k: string]: Json };
/** One expression or statement: a single-key object. */
export type Expr = { [k: string]: Json };

export interface FlowChain {
  family: Family;
  table: string;
  name: string;
  type?: 'filter';
  hook?: 'prerouting' | 'input';
  prio?: number;
  policy?: 'accept';
}

export interface FlowSet {
  family: Family;
  table: string;
  name: string;
  type: 'ipv4_addr' | 'ipv6_addr';
  flags?: ('interval' | 'timeout' | 'dynamic')[];
  timeout?: number;
  size?: number;
  'auto-merge'?: boolean;
  elem?: Json[];
}

export interface FlowRule {
  family: Family;
  table: string;
  chain: string;
  comment?: string;
  expr: Expr[];
}

export type FlowObject =
  | { table: { family: Family; name: string } }
  | { chain: FlowChain }
  | { set: FlowSet }
  | { counter: { family: Family; table: string; name: string } }
  | { rule: FlowRule }
  | { element: { family: Family; table: string; name: string; elem: Json[] } };

export type FlowCommand = { add: FlowObject } | { delete: FlowObject } | { flush: { chain: FlowChain } | { set: { family: Family; table: string; name: string } } };

/**
 * The shared client serialises commands verbatim with JSON.stringify; its NftCommand type only
 * names the banner's subset, so flowmon's wider commands cross that boundary here, once.
 */
export function toNftCommands(cmds: FlowCommand[]): NftCommand[] {
  return cmds as unknown as NftCommand[];
}

export const fx = {
  payload: (protocol: string, field: string): Expr => ({ payload: { protocol, field } }),
  meta: (key: string): Expr => ({ meta: { key } }),
  ct: (key: string): Expr => ({ ct: { key } }),
  fibDaddrType: (): Expr => ({ fib: { result: 'type', flags: ['daddr'] } }),
  numgen: (mod: number): Expr => ({ numgen: { mode: 'random', mod, offset: 0 } }),
  /** `tcp flags & (syn | ack)`: equal to "syn" for a connection-opening SYN. */
  synAck: (): Expr => ({ '&': [{ payload: { protocol: 'tcp', field: 'flags' } }, ['syn', 'ack']] }),

  match: (left: Expr, right: Json, op: '==' | '!=' | '<' | '>=' | 'in' = '=='): Expr => ({ match: { op, left, right } }),
  set: (values: Json[]): Json => (values.length === 1 ? values[0]! : { set: values }),

  counter: (): Expr => ({ counter: null }),
  counterRef: (name: string): Expr => ({ counter: name }),
  /** `counter name <key> map { value : "counter", ... }`: one lookup, the matching named counter counts. */
  counterMap: (key: Expr, entries: [Json, string][]): Expr => ({ counter: { map: { key, data: { set: entries } } } }),
  /** `<key> vmap { value : goto chain, ... }`: goto, so the calling chain's later rules see only the other packets. */
  gotoMap: (key: Expr, entries: [Json, string][]): Expr => ({
    vmap: { key, data: { set: entries.map(([v, chain]) => [v, { goto: { target: chain } }]) } },
  }),
  jump: (chain: string): Expr => ({ jump: { target: chain } }),
  goto: (chain: string): Expr => ({ goto: { target: chain } }),
  ret: (): Expr => ({ return: null }),
  drop: (): Expr => ({ drop: null }),

  /** `limit rate over N/second burst B packets`: true (and so the rule goes on) only above the rate. */
  limitOver: (rate: number, burst: number): Expr => ({ limit: { rate: Math.max(1, Math.round(rate)), per: 'second', burst: Math.max(1, Math.round(burst)), inv: true } }),
  /** `update @set { key [stmt] }`: adds or refreshes the element, evaluating its stateful statement. */
  setUpdate: (set: string, elem: Expr, stmt?: Expr[]): Expr => ({ set: { op: 'update', elem, set: `@${set}`, ...(stmt ? { stmt } : {}) } }),
  /** `add @set { key [stmt] }`. */
  setAdd: (set: string, elem: Expr, stmt?: Expr[]): Expr => ({ set: { op: 'add', elem, set: `@${set}`, ...(stmt ? { stmt } : {}) } }),
  ctCountOver: (n: number): Expr => ({ 'ct count': { val: n, inv: true } }),
  /** A prefix or an address, as an element of an interval set. */
  prefix: (addr: string, len: number, bits: number): Json => (len === bits ? addr : { prefix: { addr, len } }),
  /** A timed set element. */
  timedElem: (val: string, timeout: number): Json => ({ elem: { val, timeout } }),
};

export const AF = [
  { family: 4, proto: 'ip', type: 'ipv4_addr', bits: 32, suffix: '4' },
  { family: 6, proto: 'ip6', type: 'ipv6_addr', bits: 128, suffix: '6' },
] as const;

export type AddressFamily = (typeof AF)[number];
