import type { Clock, JailConfig, PortcullisError } from '@portcullis/shared';
import type { JailEnforcement } from './firewall/backend.js';
import type { ServiceTable } from './firewall/etc-services.js';
import { enforcementForJail } from './firewall/jail-enforcement.js';
import { createTrustList, type TrustList } from './trust/index.js';

/** Everything the banner holds per enabled jail, built once at start from the frozen config. */
export interface JailRuntime {
  config: JailConfig;
  trust: TrustList;
  enforcement: JailEnforcement;
}

export async function buildJailRuntimes(
  jails: readonly JailConfig[],
  deps: { clock: Clock; services: ServiceTable; onTrustError: (jail: string, e: PortcullisError) => void },
): Promise<Map<string, JailRuntime>> {
  const out = new Map<string, JailRuntime>();
  for (const config of jails) {
    if (!config.enabled) continue;
    const trust = await createTrustList(config.ignoreip, {
      ignoreself: config.ignoreself,
      clock: deps.clock,
      onError: (e) => deps.onTrustError(config.name, e),
    });
    out.set(config.name, { config, trust, enforcement: enforcementForJail(config, deps.services) });
  }
  return out;
}
