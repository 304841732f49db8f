import { spawn } from 'node:child_process';
import { access, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { isPortcullisError } from '../../src/errors.js';
import { startLocalServer, type ServerSpec } from '../../src/local/local-server.js';
import { isProcessAlive, TempDirs } from './temp-dirs.js';

const temps = new TempDirs();
afterAll(() => temps.removeAll());

const fixture = fileURLToPath(new URL('./fixtures/start-servers.ts', import.meta.url));

interface FixtureReport {
  nats: number;
  redis: number;
  dir: string;
}

/** Runs the fixture in its own Node process; resolves with the pids it reported and a way to wait for its end. */
function runFixture(mode: 'exit' | 'throw' | 'hang') {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
  const ended = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const report = new Promise<FixtureReport>((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) resolve(JSON.parse(line) as FixtureReport);
    });
    child.once('exit', (code) => reject(new Error(`fixture exited (${code}) before reporting: ${err}`)));
  });
  return { child, report, ended };
}

async function waitUntilDead(pids: number[], withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    if (pids.every((p) => !isProcessAlive(p))) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

describe('local servers die with the process that started them', () => {
  for (const mode of ['exit', 'throw', 'hang'] as const) {
    const how = mode === 'hang' ? 'is killed with SIGKILL' : mode === 'exit' ? 'calls process.exit' : 'crashes on an uncaught exception';
    it(`when the parent ${how}`, async () => {
      const { child, report, ended } = runFixture(mode);
      const { nats, redis, dir } = await report;
      try {
        expect(isProcessAlive(nats)).toBe(true);
        expect(isProcessAlive(redis)).toBe(true);
        if (mode === 'hang') child.kill('SIGKILL');
        await ended;
        expect(await waitUntilDead([nats, redis], 2000)).toBe(true);
      } finally {
        for (const pid of [nats, redis]) if (isProcessAlive(pid)) process.kill(pid, 'SIGKILL');
        await rm(dir, { recursive: true, force: true });
      }
    });
  }
});

describe('startLocalServer', () => {
  const sleeper = (dir: string, probe: ServerSpec['probe'], extra: Partial<ServerSpec> = {}): ServerSpec => ({
    name: 'sleeper',
    binary: '/bin/sh',
    host: '127.0.0.1',
    port: 1,
    dataDir: dir,
    args: () => ['-c', 'echo sleeper starting >&2; exec sleep 60'],
    url: (h, p) => `test://${h}:${p}`,
    probe,
    ...extra,
  });

  it('gives up after readyTimeoutMs with PC_LOCAL_SERVER, the last probe error and the output, and kills the process', async () => {
    let pid = -1;
    const started = Date.now();
    const error = await startLocalServer(
      sleeper(
        await temps.make(),
        async (t) => {
          pid = t.pid;
          throw new Error('still warming up');
        },
        { readyTimeoutMs: 400 },
      ),
    ).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(isPortcullisError(error, 'PC_LOCAL_SERVER')).toBe(true);
    const message = (error as Error).message;
    expect(message).toContain('sleeper did not become ready on test://127.0.0.1:1 within 400 ms');
    expect(message).toContain('still warming up');
    expect(message).toContain('sleeper starting');
    expect(pid).toBeGreaterThan(0);
    expect(await waitUntilDead([pid], 1000)).toBe(true);
  });

  it('reports a binary that cannot be executed', async () => {
    const notReady = async (): Promise<void> => {
      throw new Error('not listening');
    };
    const error = await startLocalServer({ ...sleeper(await temps.make(), notReady), binary: '/nonexistent/server' }).catch(
      (e: unknown) => e,
    );
    expect(isPortcullisError(error, 'PC_LOCAL_SERVER')).toBe(true);
    expect((error as Error).message).toMatch(/sleeper .*before becoming ready|cannot start \/nonexistent\/server/);
  });

  it('stop() escalates to SIGKILL when SIGTERM is ignored', async () => {
    const logs: string[] = [];
    const dir = await temps.make();
    const marker = join(dir, 'trap-installed');
    const server = await startLocalServer({
      // Ready only once the trap is in place, or SIGTERM could beat it.
      ...sleeper(dir, async () => void (await access(marker))),
      args: () => ['-c', `trap "" TERM; touch ${marker}; while :; do sleep 0.2; done`],
      log: (m) => logs.push(m),
    });
    const pid = server.pid;
    const started = Date.now();
    await server.stop();
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(4900);
    expect(took).toBeLessThan(8000);
    expect(isProcessAlive(pid)).toBe(false);
    expect(logs.some((l) => l.includes('ignored SIGTERM'))).toBe(true);
  }, 15_000);
});
