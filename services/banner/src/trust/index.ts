export { normalizeIp, parseCidr, ipFamily, type Cidr, type IpFamily } from './normalize-ip.js';
export { createTrustList, type TrustList, type TrustListOptions, type Resolver, type HostResolution } from './trust-list.js';
export { interfaceAddresses, LOOPBACK_RANGES } from './self-addresses.js';
