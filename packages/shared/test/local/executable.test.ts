import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isPortcullisError } from '../../src/errors.js';
import { ensureExecutable, findExecutable, runCommand, type CommandRunner } from '../../src/local/executable.js';
import { TempDirs } from './temp-dirs.js';

const temps = new TempDirs();
afterAll(() => temps.removeAll());

const missing = (): string => `pct-missing-tool-${Math.random().toString(16).slice(2)}`;

/** A fake apt-get that records calls and, on a successful install, drops an executable into `dir`. */
function fakeApt(dir: string, binary: string, script: Array<{ code: number; stderr?: string; installs?: boolean }>) {
  const calls: string[] = [];
  const run: CommandRunner = async (cmd, args) => {
    calls.push([cmd, ...args].join(' '));
    const step = script.shift();
    if (!step) throw new Error('unexpected extra apt-get call');
    if (step.installs) {
      const path = join(dir, binary);
      await writeFile(path, '#!/bin/sh\nexit 0\n');
      await chmod(path, 0o755);
    }
    return { code: step.code, stdout: '', stderr: step.stderr ?? '' };
  };
  return { run, calls };
}

describe('findExecutable', () => {
  it('finds a binary on PATH and returns its absolute path', async () => {
    const path = await findExecutable('sh');
    expect(path).toMatch(/^\/.*\/sh$/);
  });

  it('finds binaries that live in sbin even when PATH lacks it', async () => {
    const original = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      expect(await findExecutable('nats-server')).toBe('/usr/sbin/nats-server');
    } finally {
      process.env.PATH = original;
    }
  });

  it('returns undefined for a missing binary and for a non-executable file', async () => {
    expect(await findExecutable(missing())).toBeUndefined();
    const dir = await temps.make();
    await writeFile(join(dir, 'plain'), 'not executable');
    expect(await findExecutable('plain', [dir])).toBeUndefined();
    expect(await findExecutable(join(dir, 'plain'))).toBeUndefined();
  });
});

describe('ensureExecutable', () => {
  it('returns the path of an installed binary without running apt', async () => {
    const { run, calls } = fakeApt('/nonexistent', 'x', []);
    expect(await ensureExecutable('redis-server', 'redis-server', { install: true, run })).toBe('/usr/bin/redis-server');
    expect(calls).toEqual([]);
  });

  it('tells the user what to install when the binary is missing and installing is not allowed', async () => {
    const binary = missing();
    const error = await ensureExecutable(binary, 'some-package').catch((e: unknown) => e);
    expect(isPortcullisError(error, 'PC_LOCAL_SERVER')).toBe(true);
    expect((error as Error).message).toContain(`${binary} was not found`);
    expect((error as Error).message).toContain('apt-get install -y some-package');
  });

  it('installs the package and returns the new binary', async () => {
    const dir = await temps.make();
    const binary = missing();
    const { run, calls } = fakeApt(dir, binary, [{ code: 0, installs: true }]);
    const logs: string[] = [];
    const path = await ensureExecutable(binary, 'the-pkg', { install: true, run, searchDirs: [dir], log: (m) => logs.push(m) });
    expect(path).toBe(join(dir, binary));
    expect(calls).toEqual(['apt-get install -y --no-install-recommends the-pkg']);
    expect(logs.some((l) => l.includes('installing apt package the-pkg'))).toBe(true);
  });

  it('runs apt-get update once when the package lists do not know the package, then retries', async () => {
    const dir = await temps.make();
    const binary = missing();
    const { run, calls } = fakeApt(dir, binary, [
      { code: 100, stderr: 'E: Unable to locate package the-pkg' },
      { code: 0 },
      { code: 0, installs: true },
    ]);
    expect(await ensureExecutable(binary, 'the-pkg', { install: true, run, searchDirs: [dir] })).toBe(join(dir, binary));
    expect(calls).toEqual([
      'apt-get install -y --no-install-recommends the-pkg',
      'apt-get update',
      'apt-get install -y --no-install-recommends the-pkg',
    ]);
  });

  it('reports apt output when the install fails for another reason, without updating', async () => {
    const dir = await temps.make();
    const { run, calls } = fakeApt(dir, missing(), [{ code: 100, stderr: 'E: Could not get lock /var/lib/dpkg/lock-frontend' }]);
    const error = await ensureExecutable(missing(), 'the-pkg', { install: true, run, searchDirs: [dir] }).catch((e: unknown) => e);
    expect(isPortcullisError(error, 'PC_LOCAL_SERVER')).toBe(true);
    expect((error as Error).message).toContain('exit code 100');
    expect((error as Error).message).toContain('Could not get lock');
    expect(calls).toHaveLength(1);
  });

  it('fails when the package installs but does not provide the binary', async () => {
    const dir = await temps.make();
    const { run } = fakeApt(dir, 'something-else', [{ code: 0, installs: true }]);
    const binary = missing();
    const error = await ensureExecutable(binary, 'the-pkg', { install: true, run, searchDirs: [dir] }).catch((e: unknown) => e);
    expect(isPortcullisError(error, 'PC_LOCAL_SERVER')).toBe(true);
    expect((error as Error).message).toContain(`${binary} is still not found`);
  });

  it('runCommand reports exit code and both output streams, and rejects only when the command cannot start', async () => {
    const result = await runCommand('sh', ['-c', 'echo out; echo err >&2; echo "$DEBIAN_FRONTEND"; exit 3']);
    expect(result).toEqual({ code: 3, stdout: 'out\nnoninteractive\n', stderr: 'err\n' });
    await expect(runCommand(missing(), [])).rejects.toThrow(/ENOENT/);
  });
});
