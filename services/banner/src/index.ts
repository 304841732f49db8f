export { startBanner, type BannerDeps } from './banner.js';
export * from './firewall/backend.js';
export { builtinFirewallRegistry, createFirewallRegistry } from './firewall/registry.js';
export { createBanStore } from './store/index.js';
export { createTrustList, normalizeIp } from './trust/index.js';
export { createJailActions } from './firewall/command/jail-actions.js';
export { planJailEnforcement } from './firewall/jail-enforcement.js';
