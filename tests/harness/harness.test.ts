import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { Redis } from 'ioredis';
import { beforeAll, describe, expect, it } from 'vitest';
import { execCommand } from './command.js';
import { createNetns, listNetns, sweepStaleNetns } from './netns.js';
import { NetnsScope, useNetnsScope, type NetnsPair } from './netns-scope.js';
import { startTestNats, startTestRedis, withServers } from './servers.js';

const scope = useNetnsScope();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - started };
}

/** An nft ruleset applied inside `ns` only; the random table name lets us check the host never sees it. */
function inputRule(table: string, rule: string): string {
  return [
    `add table inet ${table}`,
    `add chain inet ${table} input { type filter hook input priority 0; policy accept; }`,
    `add rule inet ${table} input ${rule}`,
  ].join('\n');
}

describe('network namespaces', () => {
  it('creates a namespace with loopback up in well under 200 ms', async () => {
    const timings: number[] = [];
    for (let i = 0; i < 5; i++) {
      const { value: ns, ms } = await timed(() => scope.create());
      timings.push(ms);
      expect(ns.name).toMatch(new RegExp(`^pct-${process.pid}-[0-9a-f]{8}$`));
      expect(await listNetns()).toContain(ns.name);
      const lo = await ns.exec('ip', ['-o', 'link', 'show', 'lo']);
      expect(lo.stdout).toMatch(/state UNKNOWN|LOWER_UP/);
      await ns.dispose();
    }
    timings.sort((x, y) => x - y);
    expect(timings[2]).toBeLessThan(200);
  });

  it('rejects prefixes the sweeper would not recognise', async () => {
    await expect(createNetns('test')).rejects.toThrow(/must be "pct"/);
  });

  describe('a linked pair', () => {
    let pairReady: Promise<NetnsPair>;
    beforeAll(() => {
      pairReady = scope.createPair();
      return pairReady.then(() => undefined);
    });

    it('connects over IPv4 and IPv6, and the server sees the right source addresses', async () => {
      const { a, b } = await pairReady;
      const listener = await b.listenTcp(8080);
      expect(listener.port).toBe(8080);
      expect(await a.canConnect('192.0.2.2', 8080)).toBe(true);
      expect(await a.canConnect('2001:db8::2', 8080)).toBe(true);
      const stats = await listener.stats();
      expect(stats.count).toBe(2);
      expect(stats.peers).toEqual(['::ffff:192.0.2.1', '2001:db8::1']);
      await listener.close();
    });

    it('reports a closed port as refused, fast', async () => {
      const { a } = await pairReady;
      const { value, ms } = await timed(() => a.probeTcp('192.0.2.2', 9, 2000));
      expect(value).toBe('refused');
      expect(ms).toBeLessThan(500);
      expect(await a.canConnect('2001:db8::2', 9, 2000)).toBe(false);
    });

    it('an nft drop rule inside the server namespace makes connects time out; removing it restores them', async () => {
      const { a, b } = await pairReady;
      const listener = await b.listenTcp(8081);
      const table = `pct_h_${randomBytes(3).toString('hex')}`;
      try {
        expect(await a.canConnect('192.0.2.2', 8081)).toBe(true);

        await b.exec('nft', ['-f', '-'], { input: inputRule(table, 'tcp dport 8081 drop') });
        const hostTables = await execCommand('nft', ['list', 'tables']);
        expect(hostTables.stdout).not.toContain(table);

        const v4 = await timed(() => a.probeTcp('192.0.2.2', 8081, 400));
        expect(v4.value).toBe('timeout');
        expect(v4.ms).toBeGreaterThanOrEqual(390);
        expect(await a.canConnect('2001:db8::2', 8081, 400)).toBe(false);
        expect((await listener.stats()).count).toBe(1);

        await b.exec('nft', ['delete', 'table', 'inet', table]);
        expect(await a.canConnect('192.0.2.2', 8081)).toBe(true);
        expect(await a.canConnect('2001:db8::2', 8081)).toBe(true);
      } finally {
        await b.exec('nft', ['delete', 'table', 'inet', table], { check: false });
        await listener.close();
      }
    });

    it('an nft reject rule is seen as refused at once', async () => {
      const { a, b } = await pairReady;
      const listener = await b.listenTcp(8082);
      const table = `pct_h_${randomBytes(3).toString('hex')}`;
      try {
        await b.exec('nft', ['-f', '-'], { input: inputRule(table, 'tcp dport 8082 reject with tcp reset') });
        const { value, ms } = await timed(() => a.probeTcp('192.0.2.2', 8082, 2000));
        expect(value).toBe('refused');
        expect(ms).toBeLessThan(500);
      } finally {
        await b.exec('nft', ['delete', 'table', 'inet', table], { check: false });
        await listener.close();
      }
    });

    it('echoes UDP over IPv4 and IPv6, reports closed ports, and notices a drop rule', async () => {
      const { a, b } = await pairReady;
      const listener = await b.listenUdp(5300);
      const table = `pct_h_${randomBytes(3).toString('hex')}`;
      try {
        expect(await a.probeUdp('192.0.2.2', 5300)).toBe('replied');
        expect(await a.probeUdp('2001:db8::2', 5300)).toBe('replied');
        expect(await a.probeUdp('192.0.2.2', 5301)).toBe('refused');
        await b.exec('nft', ['-f', '-'], { input: inputRule(table, 'udp dport 5300 drop') });
        expect(await a.probeUdp('192.0.2.2', 5300, 300)).toBe('timeout');
        expect((await listener.stats()).peers).toEqual(['::ffff:192.0.2.1', '2001:db8::1']);
      } finally {
        await b.exec('nft', ['delete', 'table', 'inet', table], { check: false });
        await listener.close();
      }
    });

    it('exec passes stdin, returns output, and rejects on failure unless check is false', async () => {
      const { a } = await pairReady;
      expect((await a.exec('cat', [], { input: 'hello' })).stdout).toBe('hello');
      const addrs = await a.exec('ip', ['-o', 'addr', 'show']);
      expect(addrs.stdout).toContain('192.0.2.1/24');
      expect(addrs.stdout).toContain('2001:db8::1/64');
      await expect(a.exec('sh', ['-c', 'echo nope >&2; exit 3'])).rejects.toThrow(/exit 3.*nope/);
      expect((await a.exec('sh', ['-c', 'exit 4'], { check: false })).code).toBe(4);
    });
  });

  it('dispose kills spawned children and the probe agent and leaves no namespace behind', async () => {
    const { a, b } = await scope.createPair();
    const sleeper = a.spawn('sleep', ['600']);
    const listener = await b.listenTcp(0);
    expect(await a.canConnect('192.0.2.2', listener.port)).toBe(true);
    const inside = (await execCommand('ip', ['netns', 'pids', a.name])).stdout.trim().split('\n').map(Number);
    expect(inside).toContain(sleeper.pid);
    expect(inside.length).toBe(2); // sleep + the agent

    await Promise.all([a.dispose(), b.dispose()]);
    const list = (await execCommand('ip', ['netns', 'list'])).stdout;
    expect(list).not.toContain(a.name);
    expect(list).not.toContain(b.name);
    for (const pid of inside) expect(isAlive(pid)).toBe(false);
    await expect(a.canConnect('192.0.2.2', 80)).rejects.toThrow(/disposed/);
    await a.dispose(); // idempotent
  });

  it('a scope disposes everything it created', async () => {
    const own = new NetnsScope();
    const made = await Promise.all([own.create(), own.create('pctx')]);
    await own.createPair();
    expect(own.size).toBe(4);
    await own.disposeAll();
    expect(own.size).toBe(0);
    const names = await listNetns();
    for (const ns of made) expect(names).not.toContain(ns.name);
  });
});

describe('stale namespace cleanup', () => {
  const fixture = fileURLToPath(new URL('./fixtures/netns-owner.ts', import.meta.url));

  function runOwner(mode: 'exit' | 'hang') {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const name = new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve(out.split('\n')[0] ?? '');
      });
      child.once('exit', (code) => reject(new Error(`fixture exited (${code}) before reporting`)));
    });
    return { child, name, exited };
  }

  it('a process that exits deletes its namespaces on the way out', async () => {
    const { name, exited } = runOwner('exit');
    const ns = await name;
    await exited;
    expect(await listNetns()).not.toContain(ns);
  });

  it('sweepStaleNetns deletes what a SIGKILLed process left, and spares namespaces of live processes', async () => {
    const { child, name, exited } = runOwner('hang');
    const orphan = await name;
    const live = await scope.create();
    expect(await sweepStaleNetns({ filter: (n) => n === orphan || n === live.name })).toEqual([]);

    child.kill('SIGKILL');
    await exited;
    expect(await listNetns()).toContain(orphan);
    // The agent the fixture left inside dies with its stdin; the sweep kills anything that remains.
    const swept = await sweepStaleNetns({ filter: (n) => n === orphan || n === live.name });
    expect(swept).toEqual([orphan]);
    const names = await listNetns();
    expect(names).not.toContain(orphan);
    expect(names).toContain(live.name);
  });

  it('treats pct namespaces of another naming as stale only when idle and old enough', async () => {
    const idle = `pctforeign${randomBytes(4).toString('hex')}`;
    const busy = `pctforeign${randomBytes(4).toString('hex')}`;
    await execCommand('ip', ['netns', 'add', idle]);
    await execCommand('ip', ['netns', 'add', busy]);
    const sleeper = spawn('ip', ['netns', 'exec', busy, 'sleep', '600'], { stdio: 'ignore' });
    try {
      const mine = (n: string): boolean => n === idle || n === busy;
      await new Promise((r) => setTimeout(r, 100)); // let the sleeper enter the namespace
      expect(await sweepStaleNetns({ filter: mine })).toEqual([]); // young: the default age protects both
      expect(await sweepStaleNetns({ filter: mine, foreignMinAgeMs: 0 })).toEqual([idle]);
      expect(await listNetns()).toContain(busy);
    } finally {
      sleeper.kill('SIGKILL');
      await execCommand('ip', ['netns', 'delete', idle], { check: false });
      await execCommand('ip', ['netns', 'delete', busy], { check: false });
    }
  });
});

describe('test servers', () => {
  it('NATS: JetStream data survives kill and restart; dispose removes the data dir', async () => {
    const nats = await startTestNats();
    try {
      const nc = await connect({ servers: nats.url, reconnect: false });
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: 'H', subjects: ['h.>'] });
      await jetstream(nc).publish('h.x', 'kept');
      await nc.close();

      const pid = nats.pid;
      await nats.kill();
      expect(isAlive(pid)).toBe(false);
      expect(nats.running).toBe(false);
      await nats.restart();
      expect(nats.running).toBe(true);

      const nc2 = await connect({ servers: nats.url, reconnect: false });
      const msg = await (await jetstreamManager(nc2)).streams.getMessage('H', { seq: 1 });
      expect(msg?.string()).toBe('kept');
      await nc2.close();
    } finally {
      await nats.dispose();
    }
    await expect(access(nats.dataDir)).rejects.toThrow(/ENOENT/);
    expect(nats.running).toBe(false);
  });

  it('Redis: data survives stop and restart; kill ends the process', async () => {
    const redis = await startTestRedis();
    try {
      const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
      await client.set('k', 'kept');
      client.disconnect();
      await redis.restart();
      const pid = redis.pid;
      const client2 = new Redis(redis.url, { maxRetriesPerRequest: 1 });
      expect(await client2.get('k')).toBe('kept');
      client2.disconnect();
      await redis.kill();
      expect(isAlive(pid)).toBe(false);
    } finally {
      await redis.dispose();
    }
    await expect(access(redis.dataDir)).rejects.toThrow(/ENOENT/);
  });

  it('withServers runs the body against both and disposes them even when it throws', async () => {
    let pids: number[] = [];
    await expect(
      withServers(async ({ nats, redis }) => {
        pids = [nats.pid, redis.pid];
        expect(nats.url).toMatch(/^nats:\/\/127\.0\.0\.1:\d+$/);
        expect(redis.url).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
        throw new Error('body failed');
      }),
    ).rejects.toThrow('body failed');
    expect(pids).toHaveLength(2);
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
  });
});
