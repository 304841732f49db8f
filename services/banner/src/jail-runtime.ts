import type { Clock, JailConfig, PortcullisError } from '@portcullis/shared';
import { createEscalationPolicy, isRecidiveJail, type EscalationPolicy } from './escalation/index.js';
import type { JailEnforcement } from './firewall/backend.js';
import type { ServiceTable } from './firewall/etc-services.js';
import { planJailEnforcement } from './firewall/jail-enforcement.js';
import { createTrustList, type DynamicTrust, type TrustList } from './trust/index.js';

/** Everything the banner holds per enabled jail, built once at start from the frozen config. */
export interface JailRuntime {
  config: JailConfig;
  trust: TrustList;
  enforcement: JailEnforcement;
  escalation: EscalationPolicy;
  /** Counts bans in the other jails instead of log failures (fail2ban's recidive jail). */
  recidive: boolean;
}

export async function buildJailRuntimes(
  jails: readonly JailConfig[],
  deps: { clock: Clock; services: ServiceTable; configDir: string; dynamic: DynamicTrust; onTrustError: (jail: string, e: PortcullisError) => void },
): Promise<Map<string, JailRuntime>> {
  const out = new Map<string, JailRuntime>();
  for (const config of jails) {
    if (!config.enabled) continue;
    const trust = await createTrustList(config.ignoreip, {
      ignoreself: config.ignoreself,
      clock: deps.clock,
      dynamic: deps.dynamic,
      ...(config.options.ignorecommand ? { ignorecommand: config.options.ignorecommand } : {}),
      ignoreCommandOptions: { ref: config.ref },
      onError: (e) => deps.onTrustError(config.name, e),
    });
    const recidive = isRecidiveJail(config);
    const enforcement = planJailEnforcement(config, { services: deps.services, configDir: deps.configDir });
    out.set(config.name, {
      config,
      trust,
      // A recidive ban shuts the address out entirely, whatever the jail's port says.
      enforcement: recidive ? { ...enforcement, ports: 'all' } : enforcement,
      escalation: createEscalationPolicy(config),
      recidive,
    });
  }
  return out;
}
