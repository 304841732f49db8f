export { execCommand, killGroup, type ExecOptions, type ExecResult } from './command.js';
export {
  createNetns,
  linkNetns,
  listNetns,
  sweepStaleNetns,
  Netns,
  NETNS_DIR,
  type LinkOptions,
  type ListenerStats,
  type NetnsLink,
  type NetnsListener,
  type SweepOptions,
  type TcpProbeResult,
  type UdpProbeResult,
} from './netns.js';
export { DEFAULT_PAIR_ADDRESSES, NetnsScope, useNetnsScope, type NetnsPair } from './netns-scope.js';
export { startTestNats, startTestRedis, withServers, type TestServer, type TestServerOptions, type TestServers } from './servers.js';
