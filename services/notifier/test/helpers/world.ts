import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  connectBus,
  CONTRACTS,
  createLogger,
  ensureStreams,
  loadConfig,
  publishDurable,
  subjectFor,
  SUBJECTS,
  systemClock,
  type BanDecisionV1,
  type Bus,
  type Clock,
  type FlowAlertV1,
  type ServiceContext,
} from '@portcullis/shared';
import { startTestNats, type TestServer } from '../../../../tests/harness/index.js';
import { startNotifier, type NotifierOptions, type NotifierService } from '../../src/index.js';

export const HOST = 'testhost';

/** A temporary /etc/portcullis-style directory with the given files. */
export function configDir(files: Record<string, string>): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'pct-notifier-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export const SSHD_JAIL = `[sshd]
enabled = true
logpath = /var/log/auth.log
`;

export function logger() {
  return createLogger({ service: 'notifier-test', level: process.env['PCT_LOG'] ?? 'silent' });
}

/** A real nats-server plus the notifier(s) a test starts against it; close() stops everything. */
export class World {
  private readonly buses: Bus[] = [];
  private readonly services: NotifierService[] = [];
  private readonly cleanups: (() => void | Promise<void>)[] = [];

  private constructor(readonly nats: TestServer) {}

  static async start(): Promise<World> {
    return new World(await startTestNats());
  }

  async bus(name = 'test', url = this.nats.url): Promise<Bus> {
    const bus = await connectBus({ url, name, log: logger() });
    this.buses.push(bus);
    await ensureStreams(bus);
    return bus;
  }

  onClose(fn: () => void | Promise<void>): void {
    this.cleanups.push(fn);
  }

  /** `url` connects the notifier somewhere else than the server itself (a proxy in front of it). */
  async context(dir: string, clock: Clock = systemClock, url?: string): Promise<ServiceContext> {
    const config = loadConfig(dir, { hostName: HOST });
    return { config, bus: await this.bus('notifier', url), log: logger(), clock, stateDir: dir };
  }

  async notifier(dir: string, opts: NotifierOptions = {}, clock?: Clock, url?: string): Promise<NotifierService> {
    const service = await startNotifier(await this.context(dir, clock, url), opts);
    this.services.push(service);
    return service;
  }

  async stopService(service: NotifierService): Promise<void> {
    const i = this.services.indexOf(service);
    if (i >= 0) this.services.splice(i, 1);
    await service.stop();
  }

  async close(): Promise<void> {
    for (const s of this.services.splice(0)) await s.stop().catch(() => undefined);
    for (const fn of this.cleanups.splice(0).reverse()) await fn();
    for (const b of this.buses.splice(0)) await b.close().catch(() => undefined);
    await this.nats.dispose();
  }
}

let counter = 0;

export function ban(over: Partial<BanDecisionV1> = {}): BanDecisionV1 {
  counter++;
  const at = Date.now();
  return {
    v: 1,
    id: `dec-${process.pid}-${counter}-${Math.random().toString(36).slice(2, 8)}`,
    kind: 'ban',
    jail: 'sshd',
    ip: `203.0.113.${counter % 250}`,
    at,
    until: at + 600_000,
    bantime: 600,
    origin: 'log',
    reason: '5 failures within 10m',
    decidedBy: 'web1',
    seenOn: 'web1',
    failures: 5,
    banCount: 1,
    matches: ['Jan  1 00:00:00 web1 sshd[1]: Failed password for root from 203.0.113.1 port 22 ssh2'],
    ...over,
  };
}

export function unban(over: Partial<BanDecisionV1> = {}): BanDecisionV1 {
  const b = ban(over);
  const { until: _until, bantime: _bantime, failures: _failures, banCount: _banCount, matches: _matches, ...rest } = b;
  return { ...rest, kind: 'unban', reason: 'bantime expired', ...over };
}

export function flood(over: Partial<FlowAlertV1> = {}): FlowAlertV1 {
  counter++;
  return {
    v: 1,
    id: `alert-${process.pid}-${counter}`,
    host: 'web1',
    at: Date.now(),
    phase: 'start',
    attack: 'udp-flood',
    metric: 'udp_pps',
    rate: 120_000,
    baseline: 300,
    topSources: [
      { ip: '198.51.100.7', share: 0.42 },
      { ip: '198.51.100.9', share: 0.2 },
    ],
    mitigation: 'rate-limited UDP to 1000 pps',
    ...over,
  };
}

export async function publishDecision(bus: Bus, d: BanDecisionV1): Promise<void> {
  await publishDurable(bus, CONTRACTS.decision, subjectFor(SUBJECTS.decisions, d.jail), d, d.id);
}

/** Publishes like a producer that must not lose a decision: retried until stored (Nats-Msg-Id dedupes). */
export async function publishDecisionRetrying(bus: Bus, d: BanDecisionV1, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await publishDecision(bus, d);
      return;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await sleep(200);
    }
  }
}

export async function publishAlert(bus: Bus, a: FlowAlertV1): Promise<void> {
  await publishDurable(bus, CONTRACTS.flowAlert, subjectFor(SUBJECTS.flowAlerts, a.host), a, a.id);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function waitUntil(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}
