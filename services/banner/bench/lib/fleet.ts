import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createNetns, linkNetns, type Netns } from '../../../../tests/harness/netns.js';
import { CLI, StackProcess, waitFor } from '../../../../tests/e2e/stack-process.js';

export { CLI, StackProcess, waitFor };

const ROOT = resolve(import.meta.dirname, '../../../..');
const SETTLE_MS = 5_000;

/** The benchmarks run the built CLI (`portcullis up`), as a user would: say so when it is missing. */
export function requireBuild(): void {
  const missing = [CLI, join(ROOT, 'services/banner/dist/banner.js')].filter((f) => !existsSync(f));
  if (missing.length === 0) return;
  console.log(`dist is missing (${missing.map((f) => f.slice(ROOT.length + 1)).join(', ')}): run \`pnpm build\` first`);
  console.log(JSON.stringify({ error: 'dist missing: run pnpm build first' }));
  process.exit(1);
}

export interface BenchHost {
  name: string;
  ns: Netns;
  log: string;
  stack: StackProcess;
}

export interface Fleet {
  dir: string;
  hub: Netns;
  hubAddr: string;
  hosts: BenchHost[];
  /** Namespaces the benchmark creates besides the fleet's (fail2ban's), disposed with it. */
  extraNetns(): Promise<Netns>;
  close(): Promise<void>;
}

export interface FleetOptions {
  hosts: number;
  /** jail.local body after [DEFAULT]; `%LOG%` is replaced by the host's log file. */
  jails: string;
}

/**
 * A hub namespace with nats-server and redis-server and `hosts` namespaces each running
 * `portcullis up` against them, as tests/e2e/three-hosts.test.ts builds it. Everything is
 * deleted by close(), and by the namespaces' exit hooks if the benchmark dies.
 */
export async function startFleet(opts: FleetOptions): Promise<Fleet> {
  const dir = mkdtempSync(join(tmpdir(), 'pct-bench-'));
  const spaces: Netns[] = [];
  const hosts: BenchHost[] = [];
  const close = async (): Promise<void> => {
    await Promise.all(hosts.map((h) => h.stack.stop('SIGTERM').catch(() => undefined)));
    await Promise.all(spaces.map((n) => n.dispose().catch(() => undefined)));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const hub = await createNetns('pctbn');
    spaces.push(hub);
    mkdirSync(join(dir, 'redis'));
    hub.spawn('nats-server', ['-js', '-a', '0.0.0.0', '-p', '4222', '-sd', join(dir, 'nats')], { stdio: 'ignore' });
    hub.spawn('redis-server', ['--bind', '0.0.0.0', '--protected-mode', 'no', '--port', '6379', '--dir', join(dir, 'redis'), '--save', ''], { stdio: 'ignore' });
    for (let i = 0; i < opts.hosts; i++) {
      const name = String.fromCharCode(97 + i);
      const ns = await createNetns('pctbn');
      spaces.push(ns);
      const hubAddr = `198.51.100.${4 * i + 1}`;
      await linkNetns(hub, ns, { aAddr: `${hubAddr}/30`, bAddr: `198.51.100.${4 * i + 2}/30` });
      const cfg = join(dir, name, 'config');
      mkdirSync(cfg, { recursive: true });
      const log = join(dir, name, 'auth.log');
      writeFileSync(log, '');
      writeFileSync(join(cfg, 'jail.local'), `[DEFAULT]\n${opts.jails.replaceAll('%LOG%', log)}\n`);
      writeFileSync(
        join(cfg, 'portcullis.local'),
        `[portcullis]\nhost = host-${name}\nnats_url = nats://${hubAddr}:4222\nredis_url = redis://${hubAddr}:6379\nlog_level = info\n`,
      );
      hosts.push({ name, ns, log, stack: new StackProcess(ns, cfg, join(dir, name, 'state'), join(dir, name, 'stack.log')) });
    }
    await waitFor(
      async () => (await hub.probeTcp('127.0.0.1', 4222, 300)) === 'accepted' && (await hub.probeTcp('127.0.0.1', 6379, 300)) === 'accepted',
      15_000,
      () => 'hub servers did not start',
    );
    for (const h of hosts) await h.stack.start(120_000);
    // Measure a running system, not one still compiling filters and warming up right after start.
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    return {
      dir,
      hub,
      hubAddr: '198.51.100.1',
      hosts,
      extraNetns: async () => {
        const ns = await createNetns('pctbn');
        spaces.push(ns);
        return ns;
      },
      close,
    };
  } catch (e) {
    for (const h of hosts) console.log(`--- ${h.name} log ---\n${h.stack.logText().slice(-4000)}`);
    await close();
    throw e;
  }
}

/** Deletes the fleet on Ctrl-C too (the namespaces' own hooks cover a crash). */
export function closeOnSignal(fleet: () => Fleet | undefined): void {
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      void (fleet()?.close() ?? Promise.resolve()).finally(() => process.exit(130));
    });
  }
}
