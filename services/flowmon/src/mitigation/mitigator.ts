import type { NftClient } from '@portcullis/shared';
import { toNftCommands } from '../nft/flow-json.js';
import { readRuleCounters } from '../nft/read-nft.js';
import { dropElementCommands, rebuildCommands, type ActivePlan } from './guard-rules.js';
import { isEmptyPlan, mergePlans, sameRules, type MitigationPlan } from './plan.js';

interface Entry {
  n: number;
  plan: MitigationPlan;
  /** Packets dropped by rules since rewritten (their counters restart with each rebuild). */
  droppedBefore: number;
}

/**
 * Keeps the guard table's dynamic part equal to the open incidents' plans. Calls are serialised;
 * each change is one nft transaction.
 */
export class Mitigator {
  private readonly entries = new Map<string, Entry>();
  private nextN = 1;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly client: NftClient,
    private readonly table: string,
    private readonly banTimeoutSec: number,
  ) {}

  /** Puts `plan` in place for `incidentId` (merged with what it already had). Returns the plan in force. */
  apply(incidentId: string, plan: MitigationPlan): Promise<MitigationPlan> {
    return this.serial(async () => {
      const cur = this.entries.get(incidentId);
      if (!cur) {
        if (isEmptyPlan(plan)) return plan;
        const entry: Entry = { n: this.nextN++, plan, droppedBefore: 0 };
        await this.rebuild([...this.activePlans(), { n: entry.n, plan }], [{ n: entry.n, plan }], [], () => this.entries.set(incidentId, entry));
        return plan;
      }
      const merged = mergePlans(cur.plan, plan);
      if (sameRules(cur.plan, merged)) {
        const fresh = merged.dropSources.filter((ip) => !cur.plan.dropSources.includes(ip));
        if (fresh.length > 0) await this.client.run(toNftCommands(dropElementCommands(this.table, cur.n, fresh, this.banTimeoutSec)));
        cur.plan = merged;
        return merged;
      }
      const next = { n: cur.n, plan: merged };
      const active = this.activePlans().map((a) => (a.n === cur.n ? next : a));
      // Elements of sources new to this plan go in with the rebuild, into the existing sets.
      const fresh = merged.dropSources.filter((ip) => !cur.plan.dropSources.includes(ip));
      await this.rebuild(active, [], [], () => (cur.plan = merged), dropElementCommands(this.table, cur.n, fresh, this.banTimeoutSec));
      return merged;
    });
  }

  /** Removes everything the incident put in place. */
  remove(incidentId: string): Promise<void> {
    return this.serial(async () => {
      const cur = this.entries.get(incidentId);
      if (!cur) return;
      const active = this.activePlans().filter((a) => a.n !== cur.n);
      await this.rebuild(active, [], [cur.n], () => this.entries.delete(incidentId));
    });
  }

  /** Packets the incident's rules have dropped so far. */
  dropped(incidentId: string): Promise<number> {
    return this.serial(async () => {
      const cur = this.entries.get(incidentId);
      if (!cur) return 0;
      return cur.droppedBefore + ((await this.ruleCounts()).get(cur.n) ?? 0);
    });
  }

  /**
   * Forgets what is in place: the guard table was recreated empty. Open incidents get their
   * mitigation again with their next update.
   */
  reset(): void {
    this.entries.clear();
  }

  has(incidentId: string): boolean {
    return this.entries.has(incidentId);
  }

  private activePlans(): ActivePlan[] {
    return [...this.entries.values()].map((e) => ({ n: e.n, plan: e.plan }));
  }

  /** Rewrites the dynamic chains; their counters restart, so what they counted is kept first. */
  private async rebuild(active: ActivePlan[], added: ActivePlan[], removed: number[], commit: () => void, extra: ReturnType<typeof dropElementCommands> = []): Promise<void> {
    const counts = this.entries.size > 0 ? await this.ruleCounts() : new Map<number, number>();
    await this.client.run(toNftCommands([...extra, ...rebuildCommands(this.table, active, added, removed, this.banTimeoutSec)]));
    for (const e of this.entries.values()) e.droppedBefore += counts.get(e.n) ?? 0;
    commit();
  }

  private async ruleCounts(): Promise<Map<number, number>> {
    const out = new Map<number, number>();
    for (const chain of ['pre_dyn', 'ct_dyn']) {
      for (const [comment, packets] of await readRuleCounters(this.client, this.table, chain)) {
        const m = /^i(\d+):/.exec(comment);
        if (m) out.set(Number(m[1]), (out.get(Number(m[1])) ?? 0) + packets);
      }
    }
    return out;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }
}
