export { findFreePort } from './free-port.js';
export {
  ensureExecutable,
  findExecutable,
  runCommand,
  SYSTEM_BIN_DIRS,
  type CommandResult,
  type CommandRunner,
  type EnsureExecutableOptions,
} from './executable.js';
export { startLocalServer, connectHost, formatUrl, type LocalServer, type ProbeTarget, type ServerSpec } from './local-server.js';
export { startNatsServer, type NatsServerOptions } from './nats-server.js';
export { startRedisServer, type RedisServerOptions } from './redis-server.js';
