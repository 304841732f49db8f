import { PortcullisError } from '@portcullis/shared';
import type { FirewallBackend, FirewallBackendFactory, FirewallBackendOptions } from './backend.js';
import { iptablesBackendFactory } from './iptables/iptables-backend.js';
import { nftablesBackendFactory } from './nftables/nftables-backend.js';

export interface FirewallRegistry {
  register(name: string, factory: FirewallBackendFactory): void;
  names(): string[];
  /** Throws PC_FIREWALL_UNAVAILABLE, naming the known backends, when `name` is not registered. */
  get(name: string): FirewallBackendFactory;
  create(name: string, opts: FirewallBackendOptions): Promise<FirewallBackend>;
}

export function createFirewallRegistry(initial: Record<string, FirewallBackendFactory> = {}): FirewallRegistry {
  const factories = new Map<string, FirewallBackendFactory>(Object.entries(initial));
  const registry: FirewallRegistry = {
    register(name, factory) {
      if (factories.has(name)) throw new PortcullisError('PC_INTERNAL', `firewall backend "${name}" is already registered`);
      factories.set(name, factory);
    },
    names: () => [...factories.keys()].sort(),
    get(name) {
      const factory = factories.get(name);
      if (!factory) {
        const known = registry.names();
        throw new PortcullisError(
          'PC_FIREWALL_UNAVAILABLE',
          `unknown firewall backend "${name}" (known: ${known.length ? known.join(', ') : 'none'})`,
        );
      }
      return factory;
    },
    create: (name, opts) => registry.get(name)(opts),
  };
  return registry;
}

/** A registry holding the backends that ship with Portcullis. */
export function builtinFirewallRegistry(): FirewallRegistry {
  return createFirewallRegistry({ nftables: nftablesBackendFactory, iptables: iptablesBackendFactory });
}
