/**
 * Test agent that runs inside a network namespace (`ip netns exec NS node --import tsx driver.ts`).
 * It reads one JSON request per line on stdin and answers one JSON line on stdout, so the test
 * process (in the host namespace) never loads libnftables or touches nftables itself.
 */
import { createServer, Socket, type Server } from 'node:net';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { execFileSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { createLogger, describeError, isPortcullisError } from '@portcullis/shared';
import type { BanEntry, FirewallBackend, JailEnforcement } from '../../src/firewall/backend.js';
import { builtinFirewallRegistry } from '../../src/firewall/registry.js';
import { createNftClient, type NftClient } from '../../../../packages/shared/src/nft/nft-client.js';
import type { NftCommand, NftListTarget } from '../../../../packages/shared/src/nft/nft-json.js';
import type { NftTransport } from '../../../../packages/shared/src/nft/nft-error.js';

interface Request {
  id: number;
  op: string;
  args?: Record<string, unknown>;
}

const log = createLogger({ service: 'fw-test-driver', level: 'silent' });
const state: { backend?: FirewallBackend; client?: NftClient; servers: (Server | UdpSocket)[] } = { servers: [] };

async function handle(op: string, a: Record<string, unknown>): Promise<unknown> {
  switch (op) {
    case 'backend.create': {
      state.backend?.close();
      state.backend = await builtinFirewallRegistry().create('nftables', {
        table: a.table as string,
        log,
        transport: a.transport as NftTransport,
      });
      return null;
    }
    case 'setup':
      return backend().setup(a.jails as JailEnforcement[]);
    case 'ban':
      return backend().ban(a.entries as BanEntry[]);
    case 'unban':
      return backend().unban(a.entries as { jail: string; ip: string }[]);
    case 'list':
      return backend().list(a.jail as string | undefined);
    case 'reconcile':
      return backend().reconcile(a.desired as BanEntry[]);
    case 'teardown':
      return backend().teardown();
    case 'ban.generated': {
      // Large batches are generated here so the measured time is the backend's, not the pipe's.
      const entries = generateEntries(a.jail as string, a.count as number, a.timeoutSec as number | null, (a.base as number) ?? 0);
      const t0 = performance.now();
      await backend().ban(entries);
      return { ms: performance.now() - t0 };
    }
    case 'client.open': {
      state.client?.close();
      state.client = undefined;
      let fallback: string | undefined;
      state.client = await createNftClient({
        prefer: a.prefer as NftTransport,
        libraryPath: a.libraryPath as string | undefined,
        nftPath: a.nftPath as string | undefined,
        onFallback: (reason) => (fallback = reason),
      });
      return a.details ? { transport: state.client.transport, fallback: fallback ?? null } : state.client.transport;
    }
    case 'client.run': {
      const t0 = performance.now();
      await client().run(a.commands as NftCommand[]);
      return { ms: performance.now() - t0 };
    }
    case 'client.list':
      return client().list(a.target as NftListTarget);
    case 'nft.text':
      return execFileSync('nft', ['list', 'ruleset'], { encoding: 'utf8' });
    case 'tcp.listen':
      return listenTcp(a.host as string, a.port as number);
    case 'tcp.connect':
      return connectTcp(a.host as string, a.port as number, a.from as string | undefined, (a.timeoutMs as number) ?? 1000);
    case 'udp.listen':
      return listenUdp(a.host as string, a.port as number);
    case 'udp.probe':
      return probeUdp(a.host as string, a.port as number, a.from as string | undefined, (a.timeoutMs as number) ?? 1000);
    default:
      throw new Error(`unknown op ${op}`);
  }
}

function backend(): FirewallBackend {
  if (!state.backend) throw new Error('backend.create first');
  return state.backend;
}

function client(): NftClient {
  if (!state.client) throw new Error('client.open first');
  return state.client;
}

/** 10.0.0.0/8 addresses counted from `base`; they are only ever set elements, never contacted. */
export function generateEntries(jail: string, count: number, timeoutSec: number | null, base = 0): BanEntry[] {
  const out: BanEntry[] = [];
  for (let i = base; i < base + count; i++) out.push({ jail, ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, timeoutSec });
  return out;
}

function listenTcp(host: string, port: number): Promise<null> {
  return new Promise((resolve, reject) => {
    const server = createServer((sock) => {
      sock.on('error', () => undefined); // probes reset connections they no longer need
      sock.end('ok\n');
    });
    server.once('error', reject);
    server.listen({ host, port, ipv6Only: host.includes(':') }, () => resolve(null));
    state.servers.push(server);
  });
}

/** 'connected', 'refused' (RST: reject with tcp reset, or nothing listening) or 'timeout' (dropped). */
function connectTcp(host: string, port: number, from: string | undefined, timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    const sock = new Socket();
    const done = (r: string): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => done('timeout'), timeoutMs);
    sock.once('connect', () => done('connected'));
    sock.once('error', (e: NodeJS.ErrnoException) => done(e.code === 'ECONNREFUSED' ? 'refused' : `error:${e.code ?? e.message}`));
    sock.connect(from ? { host, port, localAddress: from } : { host, port });
  });
}

function listenUdp(host: string, port: number): Promise<null> {
  return new Promise((resolve, reject) => {
    const sock = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    sock.on('message', (msg, rinfo) => sock.send(msg, rinfo.port, rinfo.address));
    sock.once('error', reject);
    sock.bind(port, host, () => resolve(null));
    state.servers.push(sock);
  });
}

/** 'reply', 'refused' (ICMP port unreachable on a connected socket) or 'timeout'. */
function probeUdp(host: string, port: number, from: string | undefined, timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    const sock = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    let finished = false;
    const done = (r: string): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      clearTimeout(again);
      sock.close();
      resolve(r);
    };
    const timer = setTimeout(() => done('timeout'), timeoutMs);
    let again: NodeJS.Timeout | undefined;
    sock.on('message', () => done('reply'));
    sock.on('error', (e: NodeJS.ErrnoException) => done(e.code === 'ECONNREFUSED' ? 'refused' : `error:${e.code ?? e.message}`));
    const start = (): void =>
      sock.connect(port, host, () => {
        sock.send('ping');
        // An ICMP error is only reported on the next socket operation, so send twice.
        again = setTimeout(() => sock.send('ping', () => undefined), 100);
      });
    if (from) sock.bind(0, from, start);
    else start();
  });
}

// Requests are handled one after another, in order, like the test awaits them.
let chain: Promise<void> = Promise.resolve();
const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const req = JSON.parse(line) as Request;
  chain = chain.then(() => respond(req));
});
rl.on('close', () => {
  void chain.then(() => {
    state.backend?.close();
    state.client?.close();
    for (const s of state.servers) s.close();
    process.exit(0);
  });
});

async function respond(req: Request): Promise<void> {
  let reply: Record<string, unknown>;
  try {
    reply = { id: req.id, ok: true, result: (await handle(req.op, req.args ?? {})) ?? null };
  } catch (e) {
    reply = { id: req.id, ok: false, error: describeError(e), code: isPortcullisError(e) ? e.code : undefined };
  }
  process.stdout.write(`${JSON.stringify(reply)}\n`);
}
