export { startBanner, type BannerDeps } from './banner.js';
export * from './firewall/backend.js';
export { builtinFirewallRegistry, createFirewallRegistry } from './firewall/registry.js';
export { createBanStore } from './store/index.js';
export { createTrustList, normalizeIp } from './trust/index.js';
