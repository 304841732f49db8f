import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNatsServer, startRedisServer, type LocalServer } from '@portcullis/shared';

/** A LocalServer with its own temp data dir; dispose() stops it and removes the dir. */
export interface TestServer extends LocalServer {
  dispose(): Promise<void>;
}

export interface TestServerOptions {
  log?: (msg: string) => void;
}

/** nats-server with JetStream on a free loopback port (installed from apt if missing). */
export async function startTestNats(opts: TestServerOptions = {}): Promise<TestServer> {
  return withTempDir('pct-nats-', (dir) => startNatsServer({ storeDir: join(dir, 'jetstream'), install: true, ...opts }));
}

/** redis-server with append-only persistence (unless appendonly: false) on a free loopback port. */
export async function startTestRedis(opts: TestServerOptions & { appendonly?: boolean } = {}): Promise<TestServer> {
  return withTempDir('pct-redis-', (dir) => startRedisServer({ dir, install: true, ...opts }));
}

export interface TestServers {
  nats: TestServer;
  redis: TestServer;
}

/** Starts both servers, runs fn, and disposes them however fn ends. */
export async function withServers<T>(fn: (servers: TestServers) => Promise<T>, opts: TestServerOptions = {}): Promise<T> {
  const [nats, redis] = await Promise.allSettled([startTestNats(opts), startTestRedis(opts)]);
  try {
    if (nats.status === 'rejected') throw nats.reason;
    if (redis.status === 'rejected') throw redis.reason;
    return await fn({ nats: nats.value, redis: redis.value });
  } finally {
    await Promise.all([nats, redis].map((s) => (s.status === 'fulfilled' ? s.value.dispose() : undefined)));
  }
}

async function withTempDir(prefix: string, start: (dir: string) => Promise<LocalServer>): Promise<TestServer> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  try {
    return new DisposableServer(await start(dir), dir);
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

class DisposableServer implements TestServer {
  constructor(
    private readonly server: LocalServer,
    private readonly tempDir: string,
  ) {}

  get name(): string {
    return this.server.name;
  }
  get url(): string {
    return this.server.url;
  }
  get host(): string {
    return this.server.host;
  }
  get port(): number {
    return this.server.port;
  }
  get pid(): number {
    return this.server.pid;
  }
  get dataDir(): string {
    return this.server.dataDir;
  }
  get running(): boolean {
    return this.server.running;
  }
  stop(): Promise<void> {
    return this.server.stop();
  }
  kill(): Promise<void> {
    return this.server.kill();
  }
  restart(): Promise<void> {
    return this.server.restart();
  }
  async dispose(): Promise<void> {
    await this.server.stop();
    await rm(this.tempDir, { recursive: true, force: true });
  }
}
