export { normalizeIp, parseCidr, ipFamily, type Cidr, type IpFamily } from './normalize-ip.js';
export {
  createTrustList,
  type TrustList,
  type TrustListOptions,
  type Resolver,
  type HostResolution,
  type TrustReason,
  type TrustVerdict,
} from './trust-list.js';
export { interfaceAddresses, LOOPBACK_RANGES } from './self-addresses.js';
export { createIgnoreCommand, parseIgnoreCommand, type IgnoreCommand, type IgnoreCommandOptions, type IgnoreCommandSpec, type IgnoreVerdict } from './ignore-command.js';
export { createDynamicTrust, type DynamicTrust, type DynamicTrustOptions } from './dynamic-trust.js';
export { trustNetwork, type TrustNetwork } from './trust-network.js';
export { createHostTrustRegistry, type HostTrustRegistry } from './host-trust-registry.js';
