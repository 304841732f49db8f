import { randomBytes } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { ensureExecutable } from './executable.js';
import { formatUrl, startLocalServer, type LocalServer, type ProbeTarget } from './local-server.js';

export interface NatsServerOptions {
  /** Bind address. Default 127.0.0.1. */
  host?: string;
  /** Client port. Default: a free port. */
  port?: number;
  /** JetStream store directory (created if missing). */
  storeDir: string;
  /** Install the nats-server apt package if the binary is missing. Default false. */
  install?: boolean;
  /** Default 10 s. */
  readyTimeoutMs?: number;
  log?: (msg: string) => void;
}

/** Starts `nats-server -js` and resolves once JetStream answers API requests on the client port. */
export async function startNatsServer(opts: NatsServerOptions): Promise<LocalServer> {
  const binary = await ensureExecutable('nats-server', 'nats-server', { install: opts.install ?? false, ...(opts.log ? { log: opts.log } : {}) });
  const host = opts.host ?? '127.0.0.1';
  // A name unique to this instance lets the readiness probe tell our server from a stranger on the port.
  const serverName = `portcullis-local-${randomBytes(6).toString('hex')}`;
  return startLocalServer({
    name: 'nats-server',
    binary,
    host,
    port: opts.port,
    dataDir: opts.storeDir,
    args: (port) => ['-js', '-a', host, '-p', String(port), '-sd', opts.storeDir, '--server_name', serverName],
    url: (h, port) => formatUrl('nats', h, port),
    probe: (target) => probeJetStream(target, serverName),
    ...(opts.readyTimeoutMs !== undefined ? { readyTimeoutMs: opts.readyTimeoutMs } : {}),
    ...(opts.log ? { log: opts.log } : {}),
  });
}

/** A JetStream account-info round trip: the client port accepting connections is not enough. */
async function probeJetStream(target: ProbeTarget, serverName: string): Promise<void> {
  const nc = await connect({
    servers: formatUrl('nats', target.host, target.port),
    reconnect: false,
    maxReconnectAttempts: 0,
    timeout: target.timeoutMs,
    name: 'portcullis-readiness-probe',
  });
  try {
    const actual = nc.info?.server_name;
    if (actual !== serverName) throw new Error(`port ${target.port} is served by another NATS server (${actual ?? 'unnamed'})`);
    const jsm = await jetstreamManager(nc, { timeout: target.timeoutMs });
    await jsm.getAccountInfo();
  } finally {
    await nc.close().catch(() => undefined);
  }
}
