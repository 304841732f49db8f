import { PortcullisError, type Clock, type Logger } from '@portcullis/shared';
import { normalizeAddress } from '../addresses.js';
import type { BanContext, BanEntry, BannedAddress } from '../backend.js';
import { SerialQueue } from '../nftables/serial-queue.js';
import type { ActionState, AppliedBan } from './action-state.js';
import type { Family, Ticket } from './ban-info.js';
import type { CommandAction } from './command-action.js';

/** A command that failed for one action (and address); the action carries on with the rest. */
export interface ActionFailure {
  jail: string;
  action: string;
  ip?: string;
  error: PortcullisError;
}

/**
 * A command action plus what it has applied (on disk), so that banning twice prolongs instead of
 * banning again, unbanning an address it never banned runs nothing, and a reconcile after a
 * restart bans only what is missing and unbans only what it holds. Calls run one at a time.
 */
export class TrackedAction {
  private readonly queue = new SerialQueue();

  constructor(
    readonly action: CommandAction,
    private readonly state: ActionState,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  get jail(): string {
    return this.action.jail;
  }

  get name(): string {
    return this.action.name;
  }

  /** Compiles every command (configuration errors throw) and runs actionstart unless it starts on demand. */
  start(): Promise<ActionFailure[]> {
    this.action.validate();
    return this.queue.run(async () => {
      const failures: ActionFailure[] = [];
      await this.attempt(failures, undefined, () => this.action.start());
      return failures;
    });
  }

  ban(entries: readonly BanEntry[], restored = false): Promise<ActionFailure[]> {
    return this.queue.run(async () => {
      const failures: ActionFailure[] = [];
      for (const e of entries) await this.banOne(e, restored, failures);
      this.state.save();
      return failures;
    });
  }

  unban(ips: readonly string[]): Promise<ActionFailure[]> {
    return this.queue.run(async () => {
      const failures: ActionFailure[] = [];
      for (const ip of ips) await this.unbanOne(ip, failures);
      this.state.save();
      return failures;
    });
  }

  /** Unbans what it holds that is not desired, bans (as restored) what is desired and missing. */
  reconcile(desired: readonly BanEntry[]): Promise<ActionFailure[]> {
    return this.queue.run(async () => {
      const failures: ActionFailure[] = [];
      const want = new Map(desired.map((e) => [e.ip, e]));
      for (const ip of [...this.state.applied.keys()]) if (!want.has(ip)) await this.unbanOne(ip, failures);
      for (const e of want.values()) {
        const held = this.state.applied.get(e.ip);
        if (held) held.until = this.until(e.timeoutSec);
        else await this.banOne(e, true, failures);
      }
      this.state.save();
      return failures;
    });
  }

  /** Flushes (or unbans one by one) everything applied, runs actionstop and forgets the state. */
  teardown(): Promise<ActionFailure[]> {
    return this.queue.run(async () => {
      const failures: ActionFailure[] = [];
      const holding = new Set([...this.state.applied.keys()].map((ip) => familyOf(ip)));
      if (this.action.has('actionflush')) {
        const ok = await this.attempt(failures, undefined, () => this.action.flush([...holding]));
        if (ok) this.state.applied.clear();
      } else {
        for (const ip of [...this.state.applied.keys()]) await this.unbanOne(ip, failures);
      }
      const families = new Set([...this.action.startedFamilies(), ...holding, ...(this.action.startOnDemand ? [] : this.action.families)]);
      await this.attempt(failures, undefined, () => this.action.stop([...families]));
      if (this.state.applied.size === 0) this.state.remove();
      else this.state.save();
      return failures;
    });
  }

  /** What the action holds now (from its state), with the time left. */
  list(): BannedAddress[] {
    const now = this.clock.now();
    const out: BannedAddress[] = [];
    for (const [ip, b] of this.state.applied) {
      const left = b.until === null ? null : Math.ceil((b.until - now) / 1000);
      if (left === null || left > 0) out.push({ jail: this.jail, ip, expiresSec: left });
    }
    return out;
  }

  private async banOne(e: BanEntry, restored: boolean, failures: ActionFailure[]): Promise<void> {
    const held = this.state.applied.get(e.ip);
    const until = this.until(e.timeoutSec);
    const ticket = this.ticket(e.ip, e.timeoutSec, e.context ?? {}, restored);
    if (held) {
      // fail2ban runs nothing for an address an action already holds, or actionprolong when it has one.
      if (this.action.has('actionprolong') && !(held.restored && this.action.norestored)) {
        if (!(await this.attempt(failures, e.ip, () => this.action.prolong(ticket)))) return;
      }
      held.until = until;
      return;
    }
    const applied: AppliedBan = { until, restored };
    if (restored && this.action.norestored) {
      this.state.applied.set(e.ip, applied);
      return;
    }
    if (await this.attempt(failures, e.ip, () => this.action.ban(ticket))) this.state.applied.set(e.ip, applied);
  }

  private async unbanOne(ip: string, failures: ActionFailure[]): Promise<void> {
    const held = this.state.applied.get(ip);
    if (!held) return;
    if (!(held.restored && this.action.norestored)) {
      const ticket = this.ticket(ip, null, {}, held.restored);
      // A failed unban stays applied, so the next reconcile tries again.
      if (!(await this.attempt(failures, ip, () => this.action.unban(ticket)))) return;
    }
    this.state.applied.delete(ip);
  }

  private ticket(ip: string, timeoutSec: number | null, context: BanContext, restored: boolean): Ticket {
    const at = context.at ?? this.clock.now();
    const bantime = context.bantime ?? (timeoutSec === null ? -1 : Math.ceil(timeoutSec));
    return { ip, family: familyOf(ip), time: Math.floor(at / 1000), bantime, restored, context };
  }

  private until(timeoutSec: number | null): number | null {
    return timeoutSec === null ? null : this.clock.now() + timeoutSec * 1000;
  }

  private async attempt(failures: ActionFailure[], ip: string | undefined, run: () => Promise<void>): Promise<boolean> {
    try {
      await run();
      return true;
    } catch (e) {
      const error = e instanceof PortcullisError ? e : new PortcullisError('PC_FIREWALL', `jail ${this.jail} action ${this.name}: ${(e as Error).message}`, { cause: e });
      failures.push({ jail: this.jail, action: this.name, ...(ip === undefined ? {} : { ip }), error });
      this.log.debug({ jail: this.jail, action: this.name, ip, err: error.message }, 'action failed');
      return false;
    }
  }
}

function familyOf(ip: string): Family {
  return normalizeAddress(ip).family === 4 ? 'inet4' : 'inet6';
}
