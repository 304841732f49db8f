/**
 * Runs inside the victim namespace (`ip netns exec NS node --import tsx agent.ts`): a nats-server
 * of its own, flowmon for real (its nft tables live in this namespace only), and a core NATS
 * subscription that forwards every flow sample and alert to stdout as one JSON line. Requests
 * come in on stdin, one JSON line each: {id, op, args}.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import {
  CONTRACTS,
  connectBus,
  createNftClient,
  createLogger,
  decodeMessage,
  describeError,
  encodeMessage,
  ensureStreams,
  loadConfig,
  startNatsServer,
  SUBJECTS,
  systemClock,
  type Bus,
  type LocalServer,
  type Service,
} from '@portcullis/shared';
import { startFlowmon } from '../../src/index.js';
import { readCounters } from '../../src/nft/read-nft.js';
import { readNetDev } from '../../src/proc/net-dev.js';
import { readKernelCounters } from '../../src/proc/snmp.js';

interface Request {
  id: number;
  op: string;
  args?: Record<string, unknown>;
}

const state: { nats?: LocalServer; bus?: Bus; flowmon?: Service; holders: Server[]; held: Set<Socket>; tmp: string } = {
  holders: [],
  held: new Set(),
  tmp: mkdtempSync(join(tmpdir(), 'pct-flowmon-agent-')),
};

function emit(msg: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(msg)}\n`);
}

async function handle(op: string, a: Record<string, unknown>): Promise<unknown> {
  switch (op) {
    case 'start': {
      state.nats ??= await startNatsServer({ storeDir: join(state.tmp, 'nats') });
      const config = loadConfig(a.configDir as string);
      const log = createLogger({ service: 'flowmon', host: config.settings.host, level: (a.logLevel as string) ?? 'warn' });
      state.bus ??= await connectBus({ url: state.nats.url, name: 'flowmon-test', log });
      await ensureStreams(state.bus);
      const bus = state.bus;
      const sub = bus.nc.subscribe('portcullis.v1.flow.>');
      void (async () => {
        for await (const m of sub) {
          if (m.subject.startsWith('portcullis.v1.flow.alert.')) emit({ event: 'alert', subject: m.subject, alert: decodeMessage(CONTRACTS.flowAlert, m.data) });
          else emit({ event: 'sample', subject: m.subject, sample: decodeMessage(CONTRACTS.flowSample, m.data) });
        }
      })();
      state.flowmon = await startFlowmon({ config, bus, log, clock: systemClock, stateDir: a.stateDir as string });
      return null;
    }
    case 'stop':
      await state.flowmon?.stop();
      state.flowmon = undefined;
      return null;
    case 'stream.alerts': {
      // What JetStream holds: the alerts are durable, not only seen by a live subscriber.
      const info = await state.bus!.jsm.streams.info('PORTCULLIS_FLOW_ALERTS');
      return info.state.messages;
    }
    case 'control.capture': {
      // Stands in for the banners: records ban requests and accepts them.
      const sub = state.bus!.nc.subscribe(SUBJECTS.control);
      void (async () => {
        for await (const m of sub) {
          const req = decodeMessage(CONTRACTS.controlRequest, m.data);
          emit({ event: 'control', request: req });
          m.respond(encodeMessage(CONTRACTS.controlReply, { v: 1, ok: true, done: req.op === 'ban' || req.op === 'unban' ? req.ips : [] }));
        }
      })();
      return null;
    }
    case 'cpu': {
      // CPU time of this process (flowmon and its bus client) in microseconds.
      const u = process.cpuUsage();
      return { user: u.user, system: u.system, at: performance.now() };
    }
    case 'read.cost': {
      // What one measuring tick's reads cost: the nft counters, /proc/net/snmp, netstat, snmp6, dev.
      const client = await createNftClient();
      try {
        const n = (a.reads as number) ?? 200;
        const t0 = performance.now();
        for (let i = 0; i < n; i++) {
          await readCounters(client, a.table as string);
          readKernelCounters();
          readNetDev();
        }
        return { msPerRead: (performance.now() - t0) / n };
      } finally {
        client.close();
      }
    }
    case 'hold.listen':
      return holdServer(a.port as number, a.idleMs as number);
    case 'hold.count':
      return state.held.size;
    default:
      throw new Error(`unknown op ${op}`);
  }
}

/** A server that keeps connections open like a web server waiting for the rest of a request, up to idleMs. */
function holdServer(port: number, idleMs: number): Promise<null> {
  return new Promise((resolve, reject) => {
    const server = createServer((sock) => {
      state.held.add(sock);
      sock.setTimeout(idleMs, () => sock.destroy());
      sock.on('data', () => undefined);
      sock.on('error', () => undefined);
      sock.on('close', () => state.held.delete(sock));
    });
    server.once('error', reject);
    server.listen({ port, host: '::' }, () => resolve(null));
    state.holders.push(server);
  });
}

let chain: Promise<void> = Promise.resolve();
createInterface({ input: process.stdin })
  .on('line', (line) => {
    const req = JSON.parse(line) as Request;
    chain = chain.then(async () => {
      try {
        emit({ id: req.id, ok: true, result: (await handle(req.op, req.args ?? {})) ?? null });
      } catch (e) {
        emit({ id: req.id, ok: false, error: describeError(e) });
      }
    });
  })
  .on('close', () => {
    void chain.then(async () => {
      await state.flowmon?.stop().catch(() => undefined);
      for (const s of state.held) s.destroy();
      for (const h of state.holders) h.close();
      await state.bus?.close().catch(() => undefined);
      await state.nats?.stop().catch(() => undefined);
      rmSync(state.tmp, { recursive: true, force: true });
      process.exit(0);
    });
  });
emit({ event: 'ready' });
