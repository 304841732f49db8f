import type { Netns } from '../../../../tests/harness/index.js';

export interface GuardState {
  /** The rules of the dynamic chains (what open incidents put in place), with their drop counts. */
  rules: { chain: string; comment: string; packets: number }[];
  /** Every address in an incident's drop set. */
  dropSets: string[];
  /** Sets that belong to an incident (i<n>_...). */
  incidentSets: string[];
}

/** The guard table as the kernel has it, read with nft inside the victim namespace. */
export async function guardState(ns: Netns, table = 'portcullis_flow_guard'): Promise<GuardState> {
  const out = await ns.exec('nft', ['-j', 'list', 'table', 'inet', table]);
  const items = (JSON.parse(out.stdout) as { nftables: Record<string, unknown>[] }).nftables;
  const state: GuardState = { rules: [], dropSets: [], incidentSets: [] };
  for (const item of items) {
    const rule = item.rule as { chain: string; comment?: string; expr: Record<string, unknown>[] } | undefined;
    if (rule && (rule.chain === 'pre_dyn' || rule.chain === 'ct_dyn')) {
      const counter = rule.expr.find((e) => e.counter && typeof e.counter === 'object') as { counter: { packets: number } } | undefined;
      state.rules.push({ chain: rule.chain, comment: rule.comment ?? '', packets: counter?.counter.packets ?? 0 });
    }
    const set = item.set as { name: string; elem?: unknown[] } | undefined;
    if (set && /^i\d+_/.test(set.name)) {
      state.incidentSets.push(set.name);
      if (/^i\d+_d[46]$/.test(set.name)) {
        for (const e of set.elem ?? []) {
          const val = typeof e === 'string' ? e : (e as { elem?: { val?: unknown } }).elem?.val;
          if (typeof val === 'string') state.dropSets.push(val);
        }
      }
    }
  }
  return state;
}
