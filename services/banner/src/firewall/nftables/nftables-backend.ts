import { describeError, PortcullisError, type Logger } from '@portcullis/shared';
import type { BanEntry, BannedAddress, FirewallBackend, FirewallBackendFactory, JailEnforcement } from '../backend.js';
import { assertNftIdentifier, jailSetName } from '../names.js';
import { createNftClient, type NftClient } from '@portcullis/shared';
import { nft, type NftObject } from '@portcullis/shared';
import { groupBySet, readJailSets, writeCommands, type ElementWrites, type SetContents } from './elements.js';
import { FAMILY, setupCommands } from './ruleset.js';
import { SerialQueue } from './serial-queue.js';
import { probeTimeoutUpdate } from './timeout-update-probe.js';

export const DEFAULT_NFT_TABLE = 'portcullis';

export interface NftablesBackendOptions {
  client: NftClient;
  log: Logger;
  table?: string;
  /** reconcile leaves a timed ban alone when the kernel's remaining time is within this many seconds of the desired one. */
  reconcileToleranceSec?: number;
}

/** nftables enforcement in one `inet` table of our own; never touches any other table. */
export function createNftablesBackend(opts: NftablesBackendOptions): FirewallBackend {
  const table = opts.table ?? DEFAULT_NFT_TABLE;
  assertNftIdentifier(table, 'nftables table');
  return new NftablesBackend(opts.client, opts.log, table, opts.reconcileToleranceSec ?? 2);
}

export const nftablesBackendFactory: FirewallBackendFactory = async ({ table, log, transport }) => {
  const client = await createNftClient({
    prefer: transport ?? 'libnftables',
    onFallback: (reason) => log.warn({ reason }, 'preferred nft transport unavailable; using the other one'),
  });
  log.info({ transport: client.transport, table }, 'nftables backend ready');
  return createNftablesBackend({ client, log, table });
};

class NftablesBackend implements FirewallBackend {
  readonly name = 'nftables';
  private readonly queue = new SerialQueue();
  /** Jails of the last successful setup; ban/unban/reconcile accept only these. */
  private jails = new Set<string>();
  /** Decided by the first setup (the kernel does not change under a running banner). */
  private elementWrites: ElementWrites | undefined;

  constructor(
    private readonly client: NftClient,
    private readonly log: Logger,
    private readonly table: string,
    private readonly toleranceSec: number,
  ) {}

  setup(jails: JailEnforcement[]): Promise<void> {
    return this.queue.run(async () => {
      const names = new Set<string>();
      const setNames = new Set<string>();
      for (const j of jails) {
        if (names.has(j.jail)) throw new PortcullisError('PC_CONFIG_INVALID', `jail "${j.jail}" is listed twice`);
        names.add(j.jail);
        setNames.add(jailSetName(j.jail, 4)).add(jailSetName(j.jail, 6));
      }
      const existing = await this.readTable();
      const stale = [...readJailSets(existing ?? []).keys()].filter((n) => !setNames.has(n));
      await this.client.run(setupCommands(this.table, jails, stale));
      this.jails = names;
      if (this.elementWrites === undefined) {
        try {
          this.elementWrites = (await probeTimeoutUpdate(this.client, this.table)) ? 'in-place' : 'add-delete-add';
        } catch (e) {
          this.elementWrites = 'add-delete-add';
          this.log.warn({ err: describeError(e) }, 'probing how the kernel updates set elements failed; writing them as add + delete + add');
        }
      }
      this.log.info({ table: this.table, jails: [...names], removedSets: stale, elementWrites: this.elementWrites }, 'firewall set up');
    });
  }

  ban(entries: BanEntry[]): Promise<void> {
    return this.queue.run(async () => {
      const writes = groupBySet(entries, this.jails);
      await this.client.run(writeCommands(this.table, writes, new Map(), this.mode()));
      this.log.debug({ count: entries.length }, 'banned');
    });
  }

  unban(entries: { jail: string; ip: string }[]): Promise<void> {
    return this.queue.run(async () => {
      const removals = groupBySet(entries, this.jails);
      await this.client.run(writeCommands(this.table, new Map(), removals, this.mode()));
      this.log.debug({ count: entries.length }, 'unbanned');
    });
  }

  list(jail?: string): Promise<BannedAddress[]> {
    return this.queue.run(async () => {
      const sets = readJailSets((await this.readTable()) ?? []);
      const out: BannedAddress[] = [];
      for (const s of sets.values()) if (jail === undefined || s.jail === jail) out.push(...s.elems);
      return out;
    });
  }

  reconcile(desired: BanEntry[]): Promise<void> {
    return this.queue.run(async () => {
      const want = groupBySet(desired, this.jails);
      const have = readJailSets((await this.readTable()) ?? []);
      const writes: SetContents = new Map();
      const removals: SetContents = new Map();
      let kept = 0;
      for (const jail of this.jails) {
        for (const family of [4, 6] as const) {
          const name = jailSetName(jail, family);
          const wanted = want.get(name) ?? new Map<string, number | null>();
          const current = new Map((have.get(name)?.elems ?? []).map((e) => [e.ip, e.expiresSec]));
          const w = new Map<string, number | null>();
          const r = new Map<string, number | null>();
          for (const [ip, timeout] of wanted) {
            if (current.has(ip) && this.sameExpiry(current.get(ip)!, timeout)) kept++;
            else w.set(ip, timeout);
          }
          for (const ip of current.keys()) if (!wanted.has(ip)) r.set(ip, null);
          if (w.size) writes.set(name, w);
          if (r.size) removals.set(name, r);
        }
      }
      await this.client.run(writeCommands(this.table, writes, removals, this.mode()));
      const count = (c: SetContents): number => [...c.values()].reduce((n, m) => n + m.size, 0);
      this.log.info({ written: count(writes), removed: count(removals), kept }, 'firewall reconciled');
    });
  }

  teardown(): Promise<void> {
    return this.queue.run(async () => {
      // add + delete in one transaction: deleting works whether or not the table exists.
      await this.client.run([nft.add(nft.table(FAMILY, this.table)), nft.delete(nft.table(FAMILY, this.table))]);
      this.jails = new Set();
      this.log.info({ table: this.table }, 'firewall table removed');
    });
  }

  close(): void {
    this.client.close();
  }

  private mode(): ElementWrites {
    return this.elementWrites ?? 'add-delete-add';
  }

  private sameExpiry(current: number | null, desired: number | null): boolean {
    if (current === null || desired === null) return current === desired;
    return Math.abs(current - desired) <= this.toleranceSec;
  }

  /** Our table's objects, or undefined when the table does not exist. */
  private async readTable(): Promise<NftObject[] | undefined> {
    const tables = await this.client.list({ tables: { family: FAMILY } });
    const exists = tables.some((o) => o.table?.name === this.table && o.table.family === FAMILY);
    if (!exists) return undefined;
    return this.client.list({ table: { family: FAMILY, name: this.table } });
  }
}
