/**
 * Every service as its own process (as compose.yaml deploys them), against a nats-server and a
 * redis-server of the test's own, all inside one network namespace: the pipeline bans for real, a
 * killed banner's bans stay in the kernel and come back in its status, and one incident is one
 * OpenTelemetry trace across collector, matcher, banner and notifier.
 */
import type { ChildProcess } from 'node:child_process';
import { appendFileSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useNetnsScope, type Netns } from '../harness/index.js';
import { CLI, sshdFailure, waitFor } from './stack-process.js';

const ROOT = resolve(import.meta.dirname, '../..');
const SERVICES = ['notifier', 'banner', 'matcher', 'flowmon', 'collector'] as const;
type ServiceName = (typeof SERVICES)[number];

const scope = useNetnsScope();
let ns: Netns;
let dir: string;
let configDir: string;
let authLog: string;
let spansFile: string;
let webhookFile: string;
const procs = new Map<ServiceName, ChildProcess>();

const logOf = (name: string) => {
  const f = join(dir, `${name}.log`);
  return existsSync(f) ? readFileSync(f, 'utf8') : '';
};

function startService(name: ServiceName): ChildProcess {
  const out = createWriteStream(join(dir, `${name}.log`), { flags: 'a' });
  const child = ns.spawn('node', [join(ROOT, `services/${name}/dist/main.js`), '--config', configDir, '--state', join(dir, 'state')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.pipe(out);
  child.stderr!.pipe(out);
  procs.set(name, child);
  return child;
}

async function kill(name: ServiceName, signal: NodeJS.Signals): Promise<void> {
  const c = procs.get(name);
  if (!c || c.exitCode !== null || c.signalCode !== null) return;
  const exited = new Promise((r) => c.once('exit', r));
  c.kill(signal);
  await exited;
}

async function banned(ip: string): Promise<boolean> {
  const r = await ns.exec('nft', ['list', 'set', 'inet', 'portcullis', 'sshd-v4'], { check: false });
  return r.code === 0 && r.stdout.includes(ip);
}

beforeAll(async () => {
  ns = await scope.create();
  dir = mkdtempSync(join(tmpdir(), 'pct-procs-'));
  configDir = join(dir, 'config');
  mkdirSync(configDir);
  mkdirSync(join(dir, 'redis'));
  authLog = join(dir, 'auth.log');
  spansFile = join(dir, 'spans.jsonl');
  webhookFile = join(dir, 'webhooks.jsonl');
  writeFileSync(authLog, '');
  writeFileSync(spansFile, '');
  writeFileSync(webhookFile, '');
  writeFileSync(join(dir, 'webhook.key'), 'e2e-webhook-signing-key-0123456789\n', { mode: 0o600 });
  ns.spawn('nats-server', ['-js', '-a', '127.0.0.1', '-p', '14222', '-sd', join(dir, 'nats')], { stdio: 'ignore' });
  ns.spawn('redis-server', ['--bind', '127.0.0.1', '--port', '16379', '--dir', join(dir, 'redis'), '--appendonly', 'yes', '--save', ''], { stdio: 'ignore' });
  ns.spawn('node', [join(import.meta.dirname, 'fixtures/otlp-receiver.mjs'), '14318', spansFile, webhookFile], { stdio: 'ignore' });
  for (const port of [14222, 16379, 14318]) {
    await waitFor(async () => (await ns.probeTcp('127.0.0.1', port, 300)) === 'accepted', 15_000, () => `port ${port} never opened`);
  }
  writeFileSync(
    join(configDir, 'jail.local'),
    `[sshd]\nenabled = true\nport = ssh\nlogpath = ${authLog}\nmaxretry = 3\nbantime = 1h\n`,
  );
  writeFileSync(
    join(configDir, 'portcullis.local'),
    `[portcullis]
host = proc-host
nats_url = nats://127.0.0.1:14222
redis_url = redis://127.0.0.1:16379
otlp_endpoint = http://127.0.0.1:14318/v1/traces

[notifier]
webhook_urls = http://127.0.0.1:14318/webhook
webhook_secret_file = ${join(dir, 'webhook.key')}
group_window = 1s
`,
  );
  for (const s of SERVICES) startService(s);
  for (const s of SERVICES) {
    await waitFor(() => logOf(s).includes(`${s} started`), 30_000, () => `${s} did not start:\n${logOf(s)}`);
  }
}, 120_000);

afterAll(async () => {
  for (const s of SERVICES) await kill(s, 'SIGTERM');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('services as separate processes', () => {
  it('ban an attacker, and one incident is one trace across every service', async () => {
    const ip = '198.51.100.23';
    for (let i = 0; i < 3; i++) appendFileSync(authLog, sshdFailure(ip));
    await waitFor(() => banned(ip), 20_000, () => `never banned\n${logOf('banner')}`);
    await waitFor(() => readFileSync(webhookFile, 'utf8').includes(ip), 15_000, () => `notifier never posted the ban\n${logOf('notifier')}`);

    type Span = { service: string; name: string; traceId: string };
    const services = ['portcullis-collector', 'portcullis-matcher', 'portcullis-banner', 'portcullis-notifier'];
    let trace: Span[] = [];
    await waitFor(
      () => {
        const spans = readFileSync(spansFile, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Span);
        const decided = spans.find((s) => s.name === 'banner.decide' && spans.some((o) => o.traceId === s.traceId && o.name === 'notifier.deliver'));
        trace = decided ? spans.filter((s) => s.traceId === decided.traceId) : [];
        return services.every((svc) => trace.some((s) => s.service === svc));
      },
      20_000,
      () => `no trace spans all services; got ${JSON.stringify(trace)}`,
    );
    const names = new Set(trace.map((s) => s.name));
    for (const n of ['collector.publish', 'matcher.batch', 'banner.decide', 'banner.enforce', 'notifier.deliver']) expect(names).toContain(n);
  });

  it('keep a ban in the kernel while the banner is dead, and in its status after a restart', async () => {
    const ip = '198.51.100.24';
    for (let i = 0; i < 3; i++) appendFileSync(authLog, sshdFailure(ip));
    await waitFor(() => banned(ip), 20_000, () => 'never banned');

    await kill('banner', 'SIGKILL');
    expect(await banned(ip)).toBe(true);
    const mark = logOf('banner').length;
    startService('banner');
    await waitFor(() => logOf('banner').slice(mark).includes('banner started'), 30_000, () => 'banner did not restart');
    expect(await banned(ip)).toBe(true);
    const st = await ns.exec('node', [CLI, 'status', 'sshd', '--json', '--config', configDir], { check: false });
    expect(st.code, st.stderr).toBe(0);
    expect((JSON.parse(st.stdout) as { bans: { ip: string }[] }).bans.map((b) => b.ip)).toContain(ip);

    // Failures that arrive while the restarted banner runs still ban (its consumers resumed).
    const next = '198.51.100.25';
    for (let i = 0; i < 3; i++) appendFileSync(authLog, sshdFailure(next));
    await waitFor(() => banned(next), 20_000, () => 'restarted banner does not ban');
  });
});
