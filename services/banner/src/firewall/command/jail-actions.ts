import { promises as dns } from 'node:dns';
import { rmSync } from 'node:fs';
import os from 'node:os';
import { PortcullisError, systemClock, type Clock, type Logger } from '@portcullis/shared';
import { normalizeAddress } from '../addresses.js';
import type { BanEntry, BannedAddress, FirewallBackend, FirewallBackendOptions, JailEnforcement } from '../backend.js';
import type { FirewallRegistry } from '../registry.js';
import type { CommandActionDefinition } from './action-definition.js';
import { ActionState, listActionStates } from './action-state.js';
import { CommandAction } from './command-action.js';
import { TrackedAction, type ActionFailure } from './tracked-action.js';

export interface JailActionsOptions {
  /** The configured kernel backend (`firewall` in portcullis.conf), for jails whose enforcement names none. */
  main: string;
  registry: FirewallRegistry;
  /** Passed to every kernel backend the registry creates. */
  backendOptions: FirewallBackendOptions;
  /** Command actions keep what they applied under `<stateDir>/actions`. */
  stateDir: string;
  log: Logger;
  clock?: Clock;
  /** For `<fq-hostname>` / `<sh-hostname>`; default os.hostname(). */
  hostname?: string;
  /** For `<ip-host>`; default a reverse DNS lookup that gives up after 3 s. */
  reverseLookup?: (ip: string) => Promise<string>;
  /** Told about each command action that failed (it is logged already). */
  onActionError?: (failure: ActionFailure) => void;
}

/**
 * A jail's whole action list behind one FirewallBackend: each jail's kernel enforcement goes to the
 * kernel backend its banning action selects (nftables or iptables, created on first use, the
 * configured one always), and its command actions run after it. A kernel failure throws; a failed
 * command action is logged and reported (PC_FIREWALL) without stopping the others, as in fail2ban,
 * and stays unapplied, so the next reconcile tries it again.
 */
export function createJailActions(opts: JailActionsOptions): FirewallBackend {
  return new JailActions(opts);
}

class JailActions implements FirewallBackend {
  private readonly kernels = new Map<string, FirewallBackend>();
  private jails = new Map<string, JailEnforcement>();
  private actions = new Map<string, TrackedAction>();
  private readonly clock: Clock;
  private readonly hostname: string;

  constructor(private readonly opts: JailActionsOptions) {
    this.clock = opts.clock ?? systemClock;
    this.hostname = opts.hostname ?? os.hostname();
  }

  get name(): string {
    const kernels = [...this.kernels.keys()].join('+') || this.opts.main;
    return this.actions.size ? `${kernels} with ${this.actions.size} command action(s)` : kernels;
  }

  async setup(jails: JailEnforcement[]): Promise<void> {
    const byName = new Map<string, JailEnforcement>();
    for (const j of jails) {
      if (byName.has(j.jail)) throw new PortcullisError('PC_CONFIG_INVALID', `jail "${j.jail}" is listed twice`);
      byName.set(j.jail, j);
    }
    const groups = new Map<string, JailEnforcement[]>([[this.opts.main, []]]);
    // A backend that enforced jails before and now has none still sets up (empty), so it drops them.
    for (const name of this.kernels.keys()) groups.set(name, []);
    for (const j of jails) {
      const backend = this.backendOf(j);
      if (backend === null) continue;
      const group = groups.get(backend) ?? [];
      group.push(j);
      groups.set(backend, group);
    }
    for (const [name, group] of groups) await (await this.kernel(name)).setup(group);

    const wanted = new Map<string, CommandActionDefinition>();
    for (const j of jails) {
      for (const def of j.commands ?? []) {
        const key = actionKey(j.jail, def.name);
        if (wanted.has(key)) throw new PortcullisError('PC_CONFIG_INVALID', `jail "${j.jail}" has two actions named "${def.name}"; give one a different name=...`);
        wanted.set(key, def);
      }
    }
    const failures: ActionFailure[] = [];
    for (const [key, tracked] of this.actions) {
      if (wanted.has(key)) continue;
      failures.push(...(await tracked.teardown()));
      this.actions.delete(key);
    }
    for (const [key, def] of wanted) {
      if (this.actions.has(key)) continue;
      const action = new CommandAction(def, {
        log: this.opts.log,
        clock: this.clock,
        hostname: this.hostname,
        reverseLookup: this.opts.reverseLookup ?? reverseLookup,
      });
      const tracked = new TrackedAction(action, ActionState.load(this.opts.stateDir, def.jail, def.name, this.opts.log), this.clock, this.opts.log);
      this.actions.set(key, tracked);
      failures.push(...(await tracked.start()));
    }
    for (const s of listActionStates(this.opts.stateDir)) {
      if (wanted.has(actionKey(s.jail, s.action))) continue;
      // Its commands are gone from the configuration, so nothing can undo what it applied.
      this.opts.log.warn({ jail: s.jail, action: s.action, file: s.file }, 'forgetting the state of a command action that is no longer configured');
      rmSync(s.file, { force: true });
    }
    this.jails = byName;
    this.report(failures);
    this.opts.log.info({ jails: [...byName.keys()], kernel: [...groups.keys()], commandActions: [...this.actions.keys()].map(shownKey) }, 'jail actions set up');
  }

  async ban(entries: BanEntry[]): Promise<void> {
    const checked = this.check(entries);
    for (const [name, group] of this.byKernel(checked)) await this.kernels.get(name)!.ban(group);
    await this.forActions(checked, (t, es) => t.ban(es));
  }

  async unban(entries: { jail: string; ip: string }[]): Promise<void> {
    const checked = this.check(entries.map((e) => ({ ...e, timeoutSec: null })));
    for (const [name, group] of this.byKernel(checked)) await this.kernels.get(name)!.unban(group.map(({ jail, ip }) => ({ jail, ip })));
    await this.forActions(checked, (t, es) => t.unban(es.map((e) => e.ip)));
  }

  async list(jail?: string): Promise<BannedAddress[]> {
    const out: BannedAddress[] = [];
    for (const k of this.kernels.values()) out.push(...(await k.list(jail)));
    // A jail without kernel enforcement is listed from what its first command action holds.
    const seen = new Set<string>();
    for (const t of this.actions.values()) {
      const j = this.jails.get(t.jail);
      if (!j || this.backendOf(j) !== null || seen.has(t.jail) || (jail !== undefined && t.jail !== jail)) continue;
      seen.add(t.jail);
      out.push(...t.list());
    }
    return out;
  }

  async reconcile(desired: BanEntry[]): Promise<void> {
    const checked = this.check(desired);
    const groups = this.byKernel(checked);
    // Every kernel backend reconciles, the ones with nothing desired included: they empty their sets.
    for (const [name, k] of this.kernels) await k.reconcile(groups.get(name) ?? []);
    const byJail = groupByJail(checked);
    const failures = (await Promise.all([...this.actions.values()].map((t) => t.reconcile(byJail.get(t.jail) ?? [])))).flat();
    this.report(failures);
  }

  async teardown(): Promise<void> {
    for (const k of this.kernels.values()) await k.teardown();
    const failures = (await Promise.all([...this.actions.values()].map((t) => t.teardown()))).flat();
    this.actions = new Map();
    this.jails = new Map();
    this.report(failures);
  }

  close(): void {
    for (const k of this.kernels.values()) k.close();
  }

  private backendOf(j: JailEnforcement): string | null {
    return j.backend === undefined ? this.opts.main : j.backend;
  }

  private async kernel(name: string): Promise<FirewallBackend> {
    let k = this.kernels.get(name);
    if (!k) {
      k = await this.opts.registry.create(name, this.opts.backendOptions);
      this.kernels.set(name, k);
    }
    return k;
  }

  /** Every entry's jail set up and address valid (canonical from here on), before anything runs. */
  private check<T extends { jail: string; ip: string }>(entries: readonly T[]): T[] {
    return entries.map((e) => {
      if (!this.jails.has(e.jail)) {
        throw new PortcullisError('PC_JAIL_UNKNOWN', `jail "${e.jail}" is not set up in the firewall (set up: ${[...this.jails.keys()].join(', ') || 'none'})`);
      }
      return { ...e, ip: normalizeAddress(e.ip).address };
    });
  }

  private byKernel<T extends { jail: string }>(entries: readonly T[]): Map<string, T[]> {
    const out = new Map<string, T[]>();
    for (const e of entries) {
      const backend = this.backendOf(this.jails.get(e.jail)!);
      if (backend === null) continue;
      const group = out.get(backend) ?? [];
      group.push(e);
      out.set(backend, group);
    }
    return out;
  }

  private async forActions(entries: BanEntry[], run: (t: TrackedAction, entries: BanEntry[]) => Promise<ActionFailure[]>): Promise<void> {
    const byJail = groupByJail(entries);
    const work = [...this.actions.values()].filter((t) => byJail.has(t.jail)).map((t) => run(t, byJail.get(t.jail)!));
    this.report((await Promise.all(work)).flat());
  }

  private report(failures: readonly ActionFailure[]): void {
    for (const f of failures) {
      this.opts.log.error({ jail: f.jail, action: f.action, ip: f.ip, code: f.error.code, err: f.error.message }, 'command action failed');
      this.opts.onActionError?.(f);
    }
  }
}

function groupByJail<T extends { jail: string }>(entries: readonly T[]): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const e of entries) {
    const group = out.get(e.jail) ?? [];
    group.push(e);
    out.set(e.jail, group);
  }
  return out;
}

function actionKey(jail: string, action: string): string {
  return `${jail}\u0000${action}`;
}

function shownKey(key: string): string {
  return key.replace('\u0000', '/');
}

async function reverseLookup(ip: string): Promise<string> {
  const timeout = new Promise<string[]>((resolve) => setTimeout(() => resolve([]), 3000).unref());
  const names = await Promise.race([dns.reverse(ip).catch(() => [] as string[]), timeout]);
  return names[0] ?? '';
}
