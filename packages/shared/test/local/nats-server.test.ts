import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { isPortcullisError } from '../../src/errors.js';
import { findFreePort } from '../../src/local/free-port.js';
import type { LocalServer } from '../../src/local/local-server.js';
import { startNatsServer } from '../../src/local/nats-server.js';
import { isProcessAlive, TempDirs } from './temp-dirs.js';

const temps = new TempDirs();
const servers: LocalServer[] = [];
const clients: NatsConnection[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => undefined)));
  await Promise.all(servers.splice(0).map((s) => s.kill()));
});
afterAll(() => temps.removeAll());

async function start(opts: { port?: number; host?: string } = {}): Promise<LocalServer> {
  const server = await startNatsServer({ storeDir: join(await temps.make(), 'js'), ...opts });
  servers.push(server);
  return server;
}

async function client(server: LocalServer): Promise<NatsConnection> {
  const nc = await connect({ servers: server.url, reconnect: false, timeout: 2000 });
  clients.push(nc);
  return nc;
}

async function publishEvent(server: LocalServer, payload: string): Promise<void> {
  const nc = await client(server);
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: 'EVENTS', subjects: ['events.>'] });
  const ack = await jetstream(nc).publish('events.auth', payload);
  expect(ack.seq).toBe(1);
}

async function readEvent(server: LocalServer): Promise<string | undefined> {
  const jsm = await jetstreamManager(await client(server));
  return (await jsm.streams.getMessage('EVENTS', { seq: 1 }))?.string();
}

describe('startNatsServer', () => {
  it('serves JetStream on a free loopback port: a stream can be created, written and read back', async () => {
    const server = await start();
    expect(server.url).toBe(`nats://127.0.0.1:${server.port}`);
    expect(server.running).toBe(true);
    expect(isProcessAlive(server.pid)).toBe(true);
    await publishEvent(server, 'hello');
    expect(await readEvent(server)).toBe('hello');
  });

  it('keeps JetStream data across a graceful restart, on the same port', async () => {
    const server = await start();
    await publishEvent(server, 'survives stop');
    const oldPid = server.pid;
    await server.restart();
    expect(server.pid).not.toBe(oldPid);
    expect(isProcessAlive(oldPid)).toBe(false);
    expect(await readEvent(server)).toBe('survives stop');
  });

  it('kill() ends the process with SIGKILL; restart() then brings the data back', async () => {
    const server = await start();
    await publishEvent(server, 'survives crash');
    const pid = server.pid;
    await server.kill();
    expect(server.running).toBe(false);
    expect(isProcessAlive(pid)).toBe(false);
    await expect(connect({ servers: server.url, reconnect: false, timeout: 500 })).rejects.toThrow();
    await server.restart();
    expect(server.running).toBe(true);
    expect(await readEvent(server)).toBe('survives crash');
  });

  it('stop() is idempotent and leaves nothing listening', async () => {
    const server = await start();
    await server.stop();
    await server.stop();
    expect(server.running).toBe(false);
    await expect(connect({ servers: server.url, reconnect: false, timeout: 500 })).rejects.toThrow();
  });

  it('honours an explicit port and IPv6 loopback', async () => {
    const port = await findFreePort('::1');
    const server = await start({ host: '::1', port });
    expect(server.url).toBe(`nats://[::1]:${port}`);
    await publishEvent(server, 'v6');
    expect(await readEvent(server)).toBe('v6');
  });

  it('fails with PC_LOCAL_SERVER and the server\'s own words when the port is taken', async () => {
    const blocker: Server = createServer((socket) => socket.destroy());
    const port = await findFreePort();
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
    try {
      const started = Date.now();
      const error = await start({ port }).catch((e: unknown) => e);
      expect(isPortcullisError(error, 'PC_LOCAL_SERVER')).toBe(true);
      expect((error as Error).message).toMatch(/nats-server exited with code \d+ before becoming ready/);
      expect((error as Error).message).toContain('address already in use');
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('rejects an out-of-range port and an unusable store directory with PC_LOCAL_SERVER', async () => {
    const badPort = await startNatsServer({ storeDir: await temps.make(), port: 70000 }).catch((e: unknown) => e);
    expect(isPortcullisError(badPort, 'PC_LOCAL_SERVER')).toBe(true);
    expect((badPort as Error).message).toContain('invalid port 70000');

    const badDir = await startNatsServer({ storeDir: '/proc/version/store' }).catch((e: unknown) => e);
    expect(isPortcullisError(badDir, 'PC_LOCAL_SERVER')).toBe(true);
    expect((badDir as Error).message).toContain('cannot create data directory /proc/version/store');
  });
});
