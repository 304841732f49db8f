import type { NftClient, NftObject } from '@portcullis/shared';
import { AF } from './flow-json.js';
import { sourceSetName, type SourceClass } from './guard-table.js';

export interface CounterValue {
  packets: number;
  bytes: number;
}

/** Every named counter of a table. One `list table` (a small table: no sets) per call. */
export async function readCounters(client: NftClient, table: string): Promise<Map<string, CounterValue>> {
  return countersOf(await client.list({ table: { family: 'inet', name: table } }));
}

export function countersOf(objects: NftObject[]): Map<string, CounterValue> {
  const out = new Map<string, CounterValue>();
  for (const o of objects) {
    const c = o.counter as { name?: unknown; packets?: unknown; bytes?: unknown } | undefined;
    if (!c || typeof c.name !== 'string') continue;
    out.set(c.name, { packets: Number(c.packets) || 0, bytes: Number(c.bytes) || 0 });
  }
  return out;
}

/** Packets sampled per source address in one source class (both address families). */
export async function readSources(client: NftClient, table: string, cls: SourceClass): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const af of AF) {
    const objects = await client.list({ set: { family: 'inet', table, name: sourceSetName(cls, af.suffix) } });
    for (const [ip, packets] of sourceElements(objects)) out.set(ip, (out.get(ip) ?? 0) + packets);
  }
  return out;
}

export function sourceElements(objects: NftObject[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const o of objects) {
    const elems = (o.set as { elem?: unknown } | undefined)?.elem;
    if (!Array.isArray(elems)) continue;
    for (const e of elems as unknown[]) {
      const inner = (e as { elem?: { val?: unknown; counter?: { packets?: unknown } } }).elem;
      const val = inner?.val ?? e;
      if (typeof val !== 'string') continue;
      out.set(val, Number(inner?.counter?.packets) || 0);
    }
  }
  return out;
}

/** Empties a class's sampled sets so the next read covers only what arrived since. */
export async function flushSources(client: NftClient, table: string, cls: SourceClass): Promise<void> {
  await client.run(AF.map((af) => ({ flush: { set: { family: 'inet' as const, table, name: sourceSetName(cls, af.suffix) } } })));
}

/** Packet counts of the rules of one chain that carry a comment and an anonymous counter, by comment. */
export async function readRuleCounters(client: NftClient, table: string, chain: string): Promise<Map<string, number>> {
  const objects = await client.list({ chain: { family: 'inet', table, name: chain } });
  const out = new Map<string, number>();
  for (const o of objects) {
    const rule = o.rule as { comment?: string; expr?: unknown[] } | undefined;
    if (!rule?.comment || !Array.isArray(rule.expr)) continue;
    for (const st of rule.expr) {
      const c = (st as { counter?: { packets?: unknown } | null }).counter;
      if (c && typeof c === 'object') out.set(rule.comment, (out.get(rule.comment) ?? 0) + (Number(c.packets) || 0));
    }
  }
  return out;
}
