import { PortcullisError, isPortcullisError, type Logger } from '@portcullis/shared';
import { normalizeAddress } from '../addresses.js';
import type { BanEntry, BannedAddress, FirewallBackend, FirewallBackendFactory, JailEnforcement } from '../backend.js';
import { SerialQueue } from '../nftables/serial-queue.js';
import { runTool } from './exec-tool.js';
import { createLines, ipsetTimeout, parseIpsetSave, writeLines, type SetElements } from './ipset.js';
import { assertOwner, jailNames, type JailNames } from './names.js';
import { ownedRules, setupScript, teardownScript, type IpFamily } from './restore-script.js';
import { parseIptablesSave, type SavedTable } from './save-parser.js';

export const DEFAULT_IPTABLES_OWNER = 'portcullis';

/** The programs the backend runs; `iptables-restore` and friends are the system's choice (nft or legacy). */
export interface IptablesBinaries {
  restore4: string;
  restore6: string;
  save4: string;
  save6: string;
  ipset: string;
}

export function iptablesBinaries(variant: 'system' | 'nft' | 'legacy' = 'system'): IptablesBinaries {
  const infix = variant === 'system' ? '' : `-${variant}`;
  return {
    restore4: `iptables${infix}-restore`,
    restore6: `ip6tables${infix}-restore`,
    save4: `iptables${infix}-save`,
    save6: `ip6tables${infix}-save`,
    ipset: 'ipset',
  };
}

export interface IptablesBackendOptions {
  log: Logger;
  /** Tag in the comment of every rule we add (`<owner>:<jail>`), which is how ownership is read back. */
  owner?: string;
  binaries?: IptablesBinaries;
  /** reconcile leaves a timed ban alone when the kernel's remaining time is within this many seconds of the desired one. */
  reconcileToleranceSec?: number;
}

/**
 * iptables enforcement the way fail2ban's iptables(-multiport|-allports) actions lay it out (a
 * `f2b-<jail>` chain per jail, jumped to from INPUT for the jail's protocols and ports), but with
 * the addresses in ipset sets with kernel timeouts, fail2ban's iptables-ipset style: a ban is a set
 * element, not a rule, so 50,000 bans are one `ipset restore`.
 */
export function createIptablesBackend(opts: IptablesBackendOptions): FirewallBackend {
  const owner = opts.owner ?? DEFAULT_IPTABLES_OWNER;
  assertOwner(owner);
  return new IptablesBackend(opts.log, owner, opts.binaries ?? iptablesBinaries(), opts.reconcileToleranceSec ?? 2);
}

export const iptablesBackendFactory: FirewallBackendFactory = async ({ table, log }) => {
  const backend = createIptablesBackend({ log, owner: table });
  log.info({ owner: table }, 'iptables backend ready');
  return backend;
};

interface Tables {
  4: SavedTable;
  6: SavedTable;
}

const FAMILIES: readonly IpFamily[] = [4, 6];
const SETUP_ATTEMPTS = 2;

class IptablesBackend implements FirewallBackend {
  readonly name = 'iptables';
  private readonly queue = new SerialQueue();
  /** Jails of the last successful setup; ban/unban/reconcile accept only these. */
  private jails = new Map<string, JailNames>();

  constructor(
    private readonly log: Logger,
    private readonly owner: string,
    private readonly bin: IptablesBinaries,
    private readonly toleranceSec: number,
  ) {}

  setup(jails: JailEnforcement[]): Promise<void> {
    return this.queue.run(async () => {
      const names = checkNames(jails);
      const sets = [...names.values()].flatMap((n) => [
        { name: n.set4, family: 4 as const },
        { name: n.set6, family: 6 as const },
      ]);
      let removed: string[] = [];
      for (let attempt = 1; ; attempt++) {
        const tables = await this.readTables();
        // Both scripts are built (and checked for foreign chains) before anything changes.
        const scripts = FAMILIES.map((f) => setupScript(f, this.owner, jails, tables[f]));
        const before = new Set(FAMILIES.flatMap((f) => [...ownedRules(tables[f], this.owner).sets.keys()]));
        try {
          await this.ipset(createLines(sets));
          await runTool(this.bin.restore4, ['-w', '--noflush'], scripts[0]);
          await runTool(this.bin.restore6, ['-w', '--noflush'], scripts[1]);
        } catch (e) {
          // Another program may have changed a chain between our read and our write: read again once.
          if (attempt >= SETUP_ATTEMPTS || !isPortcullisError(e, 'PC_FIREWALL')) throw e;
          this.log.warn({ err: e.message }, 'iptables setup failed; reading the rules again and retrying');
          continue;
        }
        const keep = new Set(sets.map((s) => s.name));
        removed = await this.destroySets([...before].filter((s) => !keep.has(s)));
        break;
      }
      this.jails = names;
      this.log.info({ owner: this.owner, jails: [...names.keys()], removedSets: removed }, 'firewall set up');
    });
  }

  ban(entries: BanEntry[]): Promise<void> {
    return this.queue.run(async () => {
      const writes = this.group(entries, true);
      await this.ipset(writeLines(writes));
      this.log.debug({ count: entries.length }, 'banned');
    });
  }

  unban(entries: { jail: string; ip: string }[]): Promise<void> {
    return this.queue.run(async () => {
      const removals = this.group(entries, false);
      await this.ipset(writeLines(new Map(), removals));
      this.log.debug({ count: entries.length }, 'unbanned');
    });
  }

  list(jail?: string): Promise<BannedAddress[]> {
    return this.queue.run(async () => {
      const owned = this.ownedSets(await this.readTables());
      const wanted = new Map([...owned].filter(([, v]) => jail === undefined || v.jail === jail));
      if (wanted.size === 0) return [];
      const saved = parseIpsetSave((await runTool(this.bin.ipset, ['save'])).stdout, new Set(wanted.keys()));
      const out: BannedAddress[] = [];
      for (const [name, set] of saved) {
        const j = wanted.get(name)!.jail;
        for (const [ip, t] of set.elems) out.push({ jail: j, ip, expiresSec: t === 0 ? null : t });
      }
      return out;
    });
  }

  reconcile(desired: BanEntry[]): Promise<void> {
    return this.queue.run(async () => {
      const want = this.group(desired, true);
      const setNames = new Set([...this.jails.values()].flatMap((n) => [n.set4, n.set6]));
      const have = parseIpsetSave((await runTool(this.bin.ipset, ['save'])).stdout, setNames);
      const writes: SetElements = new Map();
      const removals: SetElements = new Map();
      let kept = 0;
      for (const name of setNames) {
        const wanted = want.get(name) ?? new Map<string, number>();
        const current = have.get(name)?.elems ?? new Map<string, number>();
        const w = new Map<string, number>();
        const r = new Map<string, number>();
        for (const [ip, timeout] of wanted) {
          const now = current.get(ip);
          if (now !== undefined && this.sameExpiry(now, timeout)) kept++;
          else w.set(ip, timeout);
        }
        for (const ip of current.keys()) if (!wanted.has(ip)) r.set(ip, 0);
        if (w.size) writes.set(name, w);
        if (r.size) removals.set(name, r);
      }
      await this.ipset(writeLines(writes, removals));
      const count = (c: SetElements): number => [...c.values()].reduce((n, m) => n + m.size, 0);
      this.log.info({ written: count(writes), removed: count(removals), kept }, 'firewall reconciled');
    });
  }

  teardown(): Promise<void> {
    return this.queue.run(async () => {
      const tables = await this.readTables();
      const sets = [...this.ownedSets(tables).keys()];
      const s4 = teardownScript(this.owner, tables[4]);
      const s6 = teardownScript(this.owner, tables[6]);
      if (s4) await runTool(this.bin.restore4, ['-w', '--noflush'], s4);
      if (s6) await runTool(this.bin.restore6, ['-w', '--noflush'], s6);
      const removed = await this.destroySets(sets);
      this.jails = new Map();
      this.log.info({ owner: this.owner, removedSets: removed }, 'iptables chains and sets removed');
    });
  }

  close(): void {
    // Nothing is held open: every operation runs the tools afresh.
  }

  private sameExpiry(current: number, desired: number): boolean {
    if (current === 0 || desired === 0) return current === desired;
    return Math.abs(current - desired) <= this.toleranceSec;
  }

  /** Set name -> jail and family, from the set-match rules we own in both families. */
  private ownedSets(tables: Tables): Map<string, { jail: string; family: IpFamily }> {
    const out = new Map<string, { jail: string; family: IpFamily }>();
    for (const f of FAMILIES) for (const [set, jail] of ownedRules(tables[f], this.owner).sets) out.set(set, { jail, family: f });
    return out;
  }

  /** Validates every entry (jail set up, address, timeout) before anything is written. */
  private group(entries: readonly { jail: string; ip: string; timeoutSec?: number | null }[], withTimeout: boolean): SetElements {
    const out: SetElements = new Map();
    for (const e of entries) {
      const names = this.jails.get(e.jail);
      if (!names) {
        throw new PortcullisError('PC_JAIL_UNKNOWN', `jail "${e.jail}" is not set up in the firewall (set up: ${[...this.jails.keys()].join(', ') || 'none'})`);
      }
      const { family, address } = normalizeAddress(e.ip);
      const set = family === 4 ? names.set4 : names.set6;
      let elems = out.get(set);
      if (!elems) out.set(set, (elems = new Map()));
      elems.set(address, withTimeout ? ipsetTimeout(checkTimeout(e as BanEntry)) : 0);
    }
    return out;
  }

  private async ipset(lines: string[]): Promise<void> {
    if (lines.length === 0) return;
    await runTool(this.bin.ipset, ['-exist', 'restore'], `${lines.join('\n')}\n`);
  }

  private async destroySets(names: string[]): Promise<string[]> {
    if (names.length === 0) return [];
    const existing = new Set((await runTool(this.bin.ipset, ['list', '-n'])).stdout.split('\n').map((s) => s.trim()));
    const gone = names.filter((n) => existing.has(n)).sort();
    await this.ipset(gone.map((n) => `destroy ${n}`));
    return gone;
  }

  private async readTables(): Promise<Tables> {
    const [t4, t6] = await Promise.all([runTool(this.bin.save4, ['-t', 'filter']), runTool(this.bin.save6, ['-t', 'filter'])]);
    return { 4: withBuiltins(parseIptablesSave(t4.stdout)), 6: withBuiltins(parseIptablesSave(t6.stdout)) };
  }
}

/** A table nothing has touched yet may be missing from the save output; its built-in chains exist regardless. */
function withBuiltins(t: SavedTable): SavedTable {
  for (const c of ['INPUT', 'FORWARD', 'OUTPUT']) t.chains.add(c);
  return t;
}

/** Jail -> names; two jails whose chains or sets would share a name are a configuration error. */
function checkNames(jails: readonly JailEnforcement[]): Map<string, JailNames> {
  const out = new Map<string, JailNames>();
  const taken = new Map<string, string>();
  for (const j of jails) {
    if (out.has(j.jail)) throw new PortcullisError('PC_CONFIG_INVALID', `jail "${j.jail}" is listed twice`);
    const names = jailNames(j.jail);
    for (const n of new Set([names.chain, names.set4, names.set6])) {
      const other = taken.get(n);
      if (other !== undefined) {
        throw new PortcullisError('PC_CONFIG_INVALID', `jails "${other}" and "${j.jail}" would both use the iptables name ${n}; rename one of them`);
      }
      taken.set(n, j.jail);
    }
    out.set(j.jail, names);
  }
  return out;
}

function checkTimeout(e: BanEntry): number | null {
  const t = e.timeoutSec;
  if (t === null) return null;
  if (typeof t !== 'number' || !Number.isFinite(t) || t <= 0) {
    throw new PortcullisError('PC_FIREWALL', `ban of ${e.ip} in jail ${e.jail}: timeoutSec must be a positive number or null, got ${String(t)}`);
  }
  return t;
}
