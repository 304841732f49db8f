import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { isPortcullisError } from '../../src/errors.js';
import { findFreePort } from '../../src/local/free-port.js';
import type { LocalServer } from '../../src/local/local-server.js';
import { startRedisServer } from '../../src/local/redis-server.js';
import { isProcessAlive, TempDirs } from './temp-dirs.js';

const temps = new TempDirs();
const servers: LocalServer[] = [];
const clients: Redis[] = [];

afterEach(async () => {
  clients.splice(0).forEach((c) => c.disconnect());
  await Promise.all(servers.splice(0).map((s) => s.kill()));
});
afterAll(() => temps.removeAll());

async function start(opts: { port?: number; host?: string; appendonly?: boolean; dir?: string } = {}): Promise<LocalServer> {
  const server = await startRedisServer({ dir: opts.dir ?? (await temps.make()), ...opts });
  servers.push(server);
  return server;
}

function client(server: LocalServer): Redis {
  const redis = new Redis(server.url, { maxRetriesPerRequest: 1, retryStrategy: () => null });
  redis.on('error', () => undefined);
  clients.push(redis);
  return redis;
}

describe('startRedisServer', () => {
  it('answers a real client on a free loopback port', async () => {
    const server = await start();
    expect(server.url).toBe(`redis://127.0.0.1:${server.port}`);
    const redis = client(server);
    await redis.set('ban:192.0.2.1', 'sshd');
    expect(await redis.get('ban:192.0.2.1')).toBe('sshd');
  });

  it('keeps data across a restart through the append-only file', async () => {
    const dir = await temps.make();
    const server = await start({ dir });
    await client(server).hset('bans', '192.0.2.9', 'sshd');
    const oldPid = server.pid;
    await server.restart();
    expect(isProcessAlive(oldPid)).toBe(false);
    expect(server.pid).not.toBe(oldPid);
    expect(await client(server).hget('bans', '192.0.2.9')).toBe('sshd');
  });

  it('loses data across a restart when appendonly is off (the option really reaches redis)', async () => {
    const server = await start({ appendonly: false });
    await client(server).set('k', 'v');
    await server.restart();
    expect(await client(server).get('k')).toBeNull();
  });

  it('kill() ends the process with SIGKILL and restart() brings it back on the same port', async () => {
    const server = await start();
    await client(server).set('k', 'v');
    // appendfsync everysec: give the write its fsync before simulating the crash.
    await new Promise((r) => setTimeout(r, 1100));
    const pid = server.pid;
    await server.kill();
    expect(server.running).toBe(false);
    expect(isProcessAlive(pid)).toBe(false);
    const probe = new Redis(server.url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    probe.on('error', () => undefined);
    await expect(probe.connect()).rejects.toThrow();
    probe.disconnect();
    await server.restart();
    expect(await client(server).get('k')).toBe('v');
  });

  it('binds IPv6 loopback on an explicit port', async () => {
    const port = await findFreePort('::1');
    const server = await start({ host: '::1', port });
    expect(server.url).toBe(`redis://[::1]:${port}`);
    expect(await client(server).ping()).toBe('PONG');
  });

  it('fails with PC_LOCAL_SERVER quoting redis.log when the port is taken', async () => {
    const blocker = createServer((socket) => socket.destroy());
    const port = await findFreePort();
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
    try {
      const error = await start({ port }).catch((e: unknown) => e);
      expect(isPortcullisError(error, 'PC_LOCAL_SERVER')).toBe(true);
      expect((error as Error).message).toMatch(/redis-server exited with code 1 before becoming ready/);
      expect((error as Error).message).toMatch(/Address already in use/i);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('rejects an unusable data directory with PC_LOCAL_SERVER', async () => {
    const error = await startRedisServer({ dir: '/proc/version/redis' }).catch((e: unknown) => e);
    expect(isPortcullisError(error, 'PC_LOCAL_SERVER')).toBe(true);
    expect((error as Error).message).toContain('cannot create data directory /proc/version/redis');
  });
});
