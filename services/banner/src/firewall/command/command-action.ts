import { createLogger, parseBool, PortcullisError, splitWords, systemClock, type Clock, type Logger } from '@portcullis/shared';
import type { CommandActionDefinition } from './action-definition.js';
import { envValue, isBanTag, tagValue, variableNames, type Family, type Ticket } from './ban-info.js';
import { runShell, type ShellResult } from './run-shell.js';
import { parseScript, renderScript, type ScriptPart } from './shell-script.js';
import { replaceStaticTags } from './tags.js';

export type Operation = 'actionstart' | 'actionstop' | 'actionflush' | 'actioncheck' | 'actionrepair' | 'actionban' | 'actionunban' | 'actionprolong' | 'actionreban';
type FamilyKey = Family | '';

export interface CommandActionDeps {
  log: Logger;
  clock: Clock;
  /** For `<fq-hostname>` and `<sh-hostname>`. */
  hostname: string;
  /** Reverse DNS for `<ip-host>` (only called when a command uses it); empty string when unknown. */
  reverseLookup?: (ip: string) => Promise<string>;
  /** What commands inherit (PATH and the like); the ban values are added to it. Default: process.env. */
  baseEnv?: NodeJS.ProcessEnv;
  shell?: string;
}

/**
 * One fail2ban command action of one jail, run as fail2ban's CommandAction runs it: per address
 * family when the action has `[Init?family=...]` values (started on demand at the first ban of a
 * family), a failed command retried once after `actioncheck` (and `actionrepair`, or a restart),
 * `timeout` per command. Every ban-time value reaches the shell through the environment only.
 */
export class CommandAction {
  readonly jail: string;
  readonly name: string;
  private readonly props: ReadonlyMap<string, string>;
  private readonly extraTags: ReadonlyMap<string, string>;
  private readonly started = new Map<FamilyKey, boolean>();
  /** Per operation, the command last run successfully for each family (fail2ban's _operationExecuted). */
  private readonly executed = new Map<Operation, Map<FamilyKey, string>>();
  private readonly compiled = new Map<string, ScriptPart[]>();
  readonly families: readonly FamilyKey[];
  readonly startOnDemand: boolean;
  /** fail2ban's `norestored`: bans restored after a restart do not run this action. */
  readonly norestored: boolean;
  private readonly repairOnUnban: boolean;

  constructor(
    readonly def: CommandActionDefinition,
    private readonly deps: CommandActionDeps,
  ) {
    this.jail = def.jail;
    this.name = def.name;
    this.props = new Map(Object.entries(def.properties));
    const short = deps.hostname.split('.')[0] ?? deps.hostname;
    this.extraTags = new Map([
      ['br', '\n'],
      ['sp', ' '],
      ['fq-hostname', deps.hostname],
      ['sh-hostname', short],
    ]);
    // fail2ban's CONDITIONAL_FAM_RE: an `[Init?family=...]` value makes the action family-aware.
    const conditional = [...this.props.keys()].some((k) => /^\w+\?family=/.test(k));
    const families = this.props.get('families');
    this.families = families ? (splitWords(families) as FamilyKey[]) : conditional ? ['inet4', 'inet6'] : [''];
    this.startOnDemand = this.bool('actionstart_on_demand') ?? conditional;
    this.norestored = this.bool('norestored') ?? false;
    this.repairOnUnban = this.bool('actionrepair_on_unban') ?? false;
  }

  has(op: Operation): boolean {
    return (this.props.get(op) ?? '').trim() !== '';
  }

  /** actionstart for every family, unless the action starts on demand (at the first ban). */
  async start(family?: FamilyKey, force = false): Promise<void> {
    if (this.startOnDemand && !force) return;
    const fams = family === undefined ? this.families : [family];
    await this.runFamilies('actionstart', fams, (fam, ok) => {
      if (!ok) return;
      this.forget('actionstop', fam);
      this.started.set(fam, true);
    });
  }

  /** actionstop for the started families, or for the ones given. */
  async stop(families?: readonly FamilyKey[]): Promise<void> {
    let fams: FamilyKey[];
    if (families === undefined) {
      fams = [...this.started].filter(([, on]) => on).map(([f]) => f);
      this.started.clear();
    } else {
      fams = [...families];
      for (const f of fams) this.started.set(f, false);
    }
    if (fams.length === 0) return;
    await this.runFamilies('actionstop', fams, (fam, ok) => {
      if (ok) this.forget('actionstart', fam);
    });
  }

  /** The families actionstart has run for (and actionstop has not since). */
  startedFamilies(): FamilyKey[] {
    return [...this.started].filter(([, on]) => on).map(([f]) => f);
  }

  /** actionflush for the given families (those holding bans). */
  async flush(families: readonly FamilyKey[]): Promise<void> {
    if (families.length > 0) await this.runFamilies('actionflush', families);
  }

  async ban(ticket: Ticket, op: 'actionban' | 'actionreban' = 'actionban'): Promise<void> {
    if (this.startOnDemand && !this.started.get(ticket.family)) await this.start(ticket.family, true);
    await this.process(op === 'actionreban' && !this.has('actionreban') ? 'actionban' : op, ticket);
    this.started.set(ticket.family, true);
  }

  async prolong(ticket: Ticket): Promise<void> {
    await this.process('actionprolong', ticket);
  }

  async unban(ticket: Ticket): Promise<void> {
    await this.process('actionunban', ticket);
  }

  /** A ticket for operations that have no ban (start, stop, flush, check), as fail2ban's empty one. */
  private emptyTicket(family: FamilyKey): Ticket {
    return { ip: '', family, time: Math.floor(this.deps.clock.now() / 1000), bantime: this.def.jailBantime, restored: false, context: {} };
  }

  /** fail2ban's _processCmd: run; on failure check (and repair) the environment, then run once more. */
  private async process(op: Operation, ticket: Ticket): Promise<void> {
    if (!this.has(op)) return;
    let first: unknown;
    try {
      await this.exec(op, ticket);
      return;
    } catch (e) {
      first = e;
    }
    if (this.has('actioncheck') && !(await this.invariantCheck(ticket.family, op === 'actionunban'))) throw first;
    await this.exec(op, ticket);
  }

  /** fail2ban's _invariantCheck: true when the environment is (or was made) sane. */
  private async invariantCheck(family: FamilyKey, forUnban: boolean): Promise<boolean> {
    if (await this.succeeds('actioncheck', family)) return true;
    if (forUnban && !this.repairOnUnban) {
      this.deps.log.error({ jail: this.jail, action: this.name }, 'invariant check failed; unban is impossible');
      return false;
    }
    this.deps.log.error({ jail: this.jail, action: this.name }, 'invariant check failed; trying to restore a sane environment');
    if (this.has('actionrepair')) {
      if (!(await this.succeeds('actionrepair', family))) {
        this.started.set(family, false);
        this.deps.log.error({ jail: this.jail, action: this.name }, 'unable to restore environment');
        return false;
      }
      this.started.set(family, true);
    } else {
      await this.stop([family]).catch(() => undefined);
      await this.start(family, true).catch(() => undefined);
    }
    if (this.started.get(family) && !(await this.succeeds('actioncheck', family))) {
      this.deps.log.error({ jail: this.jail, action: this.name }, 'unable to restore environment');
      return false;
    }
    return true;
  }

  private async succeeds(op: Operation, family: FamilyKey): Promise<boolean> {
    try {
      await this.exec(op, this.emptyTicket(family));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * fail2ban's _executeOperation: the operation once per family, skipping a command identical to
   * one already run for another family; every family is tried before the first error is thrown.
   */
  private async runFamilies(op: Operation, families: readonly FamilyKey[], after?: (fam: FamilyKey, ok: boolean) => void): Promise<void> {
    let failure: unknown;
    let done = this.executed.get(op);
    if (!done) this.executed.set(op, (done = new Map()));
    for (const fam of families) {
      const key = this.commandKey(op, fam);
      let ok = true;
      const elsewhere = [...done].some(([f, cmd]) => f !== fam && cmd === key);
      if (key !== '' && !elsewhere) {
        try {
          await this.exec(op, this.emptyTicket(fam));
        } catch (e) {
          ok = false;
          failure ??= e;
        }
      }
      after?.(fam, ok);
      if (ok && key !== '') done.set(fam, key);
      else if (!ok) this.forget(op, fam);
    }
    if (failure !== undefined) throw failure;
  }

  /** Forgets that `op` ran for `fam`, and for every family that ran the same command. */
  private forget(op: Operation, fam: FamilyKey): void {
    const done = this.executed.get(op);
    const cmd = done?.get(fam);
    if (!done || cmd === undefined) return;
    for (const [f, c] of [...done]) if (c === cmd) done.delete(f);
  }

  /** The command with configuration tags replaced; `<family>` makes it family-specific. */
  private commandKey(op: Operation, fam: FamilyKey): string {
    const cmd = this.staticCommand(op, fam);
    if (cmd.trim() === '') return '';
    return cmd.includes('<family>') ? `${cmd}\0${fam}` : cmd;
  }

  private staticCommand(op: Operation, fam: FamilyKey): string {
    return replaceStaticTags(this.props.get(op) ?? '', this.props, fam ? `family=${fam}` : '', this.extraTags);
  }

  private parts(op: Operation, fam: FamilyKey): ScriptPart[] {
    const key = `${op}\0${fam}`;
    let parts = this.compiled.get(key);
    if (!parts) {
      try {
        parts = parseScript(this.staticCommand(op, fam), isBanTag);
      } catch (e) {
        throw new PortcullisError('PC_CONFIG_INVALID', `jail [${this.jail}] action ${this.name}: ${op}: ${(e as Error).message}`, { cause: e, location: this.def.ref });
      }
      this.compiled.set(key, parts);
    }
    return parts;
  }

  /** Checks every operation compiles for every family (configuration errors show at start, not at the first ban). */
  validate(): void {
    for (const op of ['actionstart', 'actionstop', 'actionflush', 'actioncheck', 'actionrepair', 'actionban', 'actionunban', 'actionprolong', 'actionreban'] as const) {
      if (!this.has(op)) continue;
      for (const fam of new Set<FamilyKey>([...this.families, 'inet4', 'inet6'])) this.parts(op, fam);
    }
  }

  private async exec(op: Operation, ticket: Ticket): Promise<void> {
    const parts = this.parts(op, ticket.family);
    const tags = parts.flatMap((p) => (typeof p === 'string' ? [] : [p.tag]));
    if (tags.length === 0 && parts.every((p) => typeof p === 'string' && p.trim() === '')) return;
    if (tags.includes('ip-host') && ticket.host === undefined && ticket.ip !== '') {
      ticket.host = this.deps.reverseLookup ? await this.deps.reverseLookup(ticket.ip).catch(() => '') : '';
    }
    const vars = variableNames(tags);
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(this.deps.baseEnv ?? process.env)) if (v !== undefined) env[k] = v;
    for (const [tag, name] of vars) env[name] = envValue(tagValue(tag, ticket) ?? '');
    const script = renderScript(parts, (tag) => vars.get(tag)!);
    const result = await runShell(script, env, this.def.timeoutSec * 1000, this.deps.shell);
    const where = { jail: this.jail, action: this.name, op, ip: ticket.ip || undefined, family: ticket.family || undefined, ms: Math.round(result.ms) };
    if (result.code === 0 && !result.timedOut) {
      this.deps.log.debug({ ...where, stdout: result.stdout || undefined, stderr: result.stderr || undefined }, 'action command done');
      return;
    }
    const error = commandError(this.jail, this.name, op, ticket.ip, result, this.def.timeoutSec);
    this.deps.log.error({ ...where, code: result.code, signal: result.signal, stdout: result.stdout, stderr: result.stderr, err: error.message }, 'action command failed');
    throw error;
  }

  private bool(key: string): boolean | undefined {
    const v = this.props.get(key);
    if (v === undefined || v.trim() === '') return undefined;
    return parseBool(key, v, this.def.ref);
  }
}

/**
 * Checks a definition the way a CommandAction would read it (its flags, every command of every
 * family parsed for ban-time tags) without running anything, so configuration errors show when the
 * configuration is read.
 */
export function checkCommandAction(def: CommandActionDefinition): void {
  new CommandAction(def, { log: createLogger({ service: 'check', level: 'silent' }), clock: systemClock, hostname: 'localhost' }).validate();
}

function commandError(jail: string, action: string, op: string, ip: string, r: ShellResult, timeoutSec: number): PortcullisError {
  const subject = `jail ${jail} action ${action}: ${op}${ip ? ` for ${ip}` : ''}`;
  if (r.spawnError !== undefined) return new PortcullisError('PC_FIREWALL', `${subject}: cannot start the shell: ${r.spawnError}`);
  const output = (r.stderr.trim() || r.stdout.trim()).slice(0, 1000);
  if (r.timedOut) {
    return new PortcullisError('PC_FIREWALL', `${subject} did not finish within ${timeoutSec} s and was killed (raise the action's timeout option if it needs longer)`, {
      cause: new PortcullisError('PC_TIMEOUT', `command timed out after ${timeoutSec} s`),
    });
  }
  const how = r.signal ? `was killed by ${r.signal}` : `exited with ${r.code}`;
  return new PortcullisError('PC_FIREWALL', `${subject} ${how}${output ? `: ${output}` : ''}`);
}
