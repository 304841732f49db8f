import type { JailConfig, NamedOptions } from '@portcullis/shared';
import type { JailEnforcement } from './backend.js';
import type { ServiceTable } from './etc-services.js';
import { parsePortSpec, parseProtocolSpec } from './port-spec.js';

/** Action names that enforce in the firewall (as opposed to mail, notify, ... actions). */
const FIREWALL_ACTION = /^(nftables|iptables|ip6tables|firewallcmd|ufw|shorewall|route|pf)(\b|[-_[])/;

/**
 * What a jail asks the firewall to do, read the way fail2ban's stock actions read it: port and
 * protocol from the banning action's options (falling back to the jail's), all ports for
 * `*-allports` / `type=allports` actions, and `blocktype` drop or reject (nftables' default: reject).
 */
export function enforcementForJail(jail: JailConfig, services: ServiceTable): JailEnforcement {
  const action = jail.actions.find((a) => FIREWALL_ACTION.test(a.name));
  const opt = (key: string): string | undefined => action?.options[key] ?? jail.options[key];
  const protocols = parseProtocolSpec(action?.options.protocol ?? jail.protocol, jail.ref);
  const allports = action !== undefined && isAllports(action);
  const ports = allports ? 'all' : parsePortSpec(action?.options.port ?? jail.port, services, jail.ref, protocols);
  const blocktype = opt('blocktype') ?? 'reject';
  return { jail: jail.name, ports, protocols, verdict: /drop/i.test(blocktype) ? 'drop' : 'reject' };
}

function isAllports(action: NamedOptions): boolean {
  return action.name.includes('allports') || action.options.type === 'allports';
}
