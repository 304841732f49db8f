import { existsSync } from 'node:fs';
import path from 'node:path';
import { PortcullisError, type JailConfig, type NamedOptions } from '@portcullis/shared';
import type { JailEnforcement, PortSpec, ProtocolSpec } from './backend.js';
import { actionFiles, loadCommandAction, type CommandActionDefinition } from './command/action-definition.js';
import { checkCommandAction } from './command/command-action.js';
import type { ServiceTable } from './etc-services.js';
import { mergeRanges, parsePortSpec, parseProtocolSpec } from './port-spec.js';

/** Action names that enforce in the firewall (as opposed to mail, notify, ... actions). */
const FIREWALL_ACTION = /^(nftables|iptables|ip6tables|firewallcmd|ufw|shorewall|route|pf)(\b|[-_[])/;

/** fail2ban's stock actions that the kernel backends implement, by backend. */
const KERNEL_ACTIONS: ReadonlyArray<readonly [RegExp, string]> = [
  [/^nftables(-multiport|-allports)?$/, 'nftables'],
  [/^iptables(-multiport|-allports|-ipset|-ipset-proto4|-ipset-proto6|-ipset-proto6-allports)?$/, 'iptables'],
];
/** Mail actions: the notifier sends these, the banner skips them. */
const NOTIFY_ACTION = /^(sendmail|mail|smtp)(-|$)/;
const CHAIN_RE = /^[A-Za-z0-9_.-]{1,28}$/;

export interface EnforcementContext {
  services: ServiceTable;
  /** The configuration directory (config.dir); command actions come from its action.d. */
  configDir: string;
}

/** How Portcullis runs an action: a kernel backend, the notifier, or (undefined) an action.d command action. */
export function classifyAction(name: string): { backend: string } | 'notify' | undefined {
  for (const [re, backend] of KERNEL_ACTIONS) if (re.test(name)) return { backend };
  return NOTIFY_ACTION.test(name) ? 'notify' : undefined;
}

/**
 * Everything a jail's `action =` list asks for, selected as in fail2ban: `nftables*` and
 * `iptables*` (multiport, allports, ipset) run on the kernel backend of that name with the
 * action's port, protocol, type, blocktype and chain; `sendmail*` / `mail*` belong to the
 * notifier; any other name runs `action.d/<name>.conf` as a command action. A name that is none
 * of these is PC_CONFIG_INVALID.
 */
export function planJailEnforcement(jail: JailConfig, ctx: EnforcementContext): JailEnforcement {
  const kernel: { action: NamedOptions; backend: string }[] = [];
  const commands: CommandActionDefinition[] = [];
  for (const action of jail.actions) {
    const kind = classifyAction(action.name);
    if (kind === 'notify') continue;
    if (kind) {
      kernel.push({ action, backend: kind.backend });
      continue;
    }
    const stack = actionFiles(ctx.configDir, action.name);
    if (!stack) throw unknownAction(jail, action.name, ctx.configDir);
    const def = loadCommandAction(ctx.configDir, jail, action, stack);
    checkCommandAction(def);
    if (commands.some((c) => c.name === def.name)) {
      throw new PortcullisError('PC_CONFIG_INVALID', `jail [${jail.name}] runs action "${def.name}" twice; give one a different name=...`, { location: jail.ref });
    }
    commands.push(def);
  }
  const backends = [...new Set(kernel.map((k) => k.backend))];
  if (backends.length > 1) {
    throw new PortcullisError('PC_CONFIG_INVALID', `jail [${jail.name}] uses both ${backends.join(' and ')} actions; choose one firewall per jail`, { location: jail.ref });
  }
  const specs = kernel.map((k) => kernelSpec(jail, k.action, ctx.services));
  const spec = specs.length > 0 ? mergeSpecs(specs) : kernelSpec(jail, undefined, ctx.services);
  const out: JailEnforcement = { ...spec, backend: backends[0] ?? null, commands };
  const chain = backends[0] === 'iptables' ? chainOption(jail, kernel[0]!.action) : undefined;
  if (chain !== undefined) out.chain = chain;
  return out;
}

/**
 * The kernel part alone, read the way fail2ban's stock actions read it: port and protocol from the
 * banning action's options (falling back to the jail's), all ports for `*-allports` /
 * `type=allports` actions, and `blocktype` drop or reject (the default: reject).
 */
export function enforcementForJail(jail: JailConfig, services: ServiceTable): JailEnforcement {
  return kernelSpec(
    jail,
    jail.actions.find((a) => FIREWALL_ACTION.test(a.name)),
    services,
  );
}

function kernelSpec(jail: JailConfig, action: NamedOptions | undefined, services: ServiceTable): JailEnforcement {
  const opt = (key: string): string | undefined => action?.options[key] ?? jail.options[key];
  const protocols = parseProtocolSpec(action?.options.protocol ?? jail.protocol, jail.ref);
  const allports = action !== undefined && isAllports(action);
  const ports = allports ? 'all' : parsePortSpec(action?.options.port ?? jail.port, services, jail.ref, protocols);
  const blocktype = opt('blocktype') ?? 'reject';
  return { jail: jail.name, ports, protocols, verdict: /drop/i.test(blocktype) ? 'drop' : 'reject' };
}

/**
 * Several kernel actions in one jail (fail2ban's bind jails ban tcp and udp with two actions)
 * share one set: their ports and protocols are joined; the first one's verdict counts.
 */
function mergeSpecs(specs: readonly JailEnforcement[]): JailEnforcement {
  const first = specs[0]!;
  if (specs.length === 1) return first;
  const ports: PortSpec = specs.some((s) => s.ports === 'all') ? 'all' : mergeRanges(specs.flatMap((s) => (s.ports === 'all' ? [] : s.ports)));
  const protocols: ProtocolSpec = specs.some((s) => s.protocols === 'all') ? 'all' : [...new Set(specs.flatMap((s) => (s.protocols === 'all' ? [] : s.protocols)))];
  return { ...first, ports, protocols };
}

function isAllports(action: NamedOptions): boolean {
  return action.name.includes('allports') || action.options.type === 'allports';
}

/** fail2ban's `chain` (where the jump goes); jail.conf's `<known/chain>` tag means the default. */
function chainOption(jail: JailConfig, action: NamedOptions): string | undefined {
  const value = (action.options.chain ?? jail.options.chain ?? '').trim();
  if (value === '' || value.includes('<')) return undefined;
  if (!CHAIN_RE.test(value)) {
    throw new PortcullisError('PC_CONFIG_INVALID', `jail [${jail.name}]: chain "${value}" is not an iptables chain name (letters, digits, _ . -; at most 28)`, {
      location: jail.ref,
    });
  }
  return value;
}

function unknownAction(jail: JailConfig, name: string, configDir: string): PortcullisError {
  const base = path.join(configDir, 'action.d', name);
  const python = existsSync(`${base}.py`) ? `; ${base}.py is a Python action, which Portcullis does not run` : '';
  return new PortcullisError(
    'PC_CONFIG_INVALID',
    `jail [${jail.name}]: unknown action "${name}": not a built-in firewall action (nftables, nftables-multiport, nftables-allports, iptables, iptables-multiport, iptables-allports, iptables-ipset*), not a mail action (sendmail*, mail*), and no ${base}.conf or ${base}.local${python}`,
    { location: jail.ref },
  );
}
