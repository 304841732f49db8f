import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import { normalizeIp } from './normalize-ip.js';

export type InterfaceLister = () => NodeJS.Dict<NetworkInterfaceInfo[]>;

/** Loopback ranges trusted by ignoreself, as fail2ban does. */
export const LOOPBACK_RANGES = ['127.0.0.0/8', '::1/128'] as const;

/** Every address configured on the host's interfaces, canonical. */
export function interfaceAddresses(list: InterfaceLister = networkInterfaces): Set<string> {
  const out = new Set<string>();
  for (const infos of Object.values(list())) {
    for (const info of infos ?? []) {
      // link-local IPv6 may come with a zone suffix on some platforms; the address itself is what matters
      const addr = info.address.split('%')[0] ?? '';
      try {
        out.add(normalizeIp(addr));
      } catch {
        // an interface reporting something unparsable is not an address we could ever match
      }
    }
  }
  return out;
}
