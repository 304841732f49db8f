export * from './nft-client.js';
export * from './nft-json.js';
export { loadLibnftables } from './libnftables.js';
