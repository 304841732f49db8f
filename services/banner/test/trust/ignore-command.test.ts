import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isPortcullisError, ManualClock } from '@portcullis/shared';
import { createIgnoreCommand, parseIgnoreCommand } from '../../src/trust/index.js';

let dir: string;
let clock: ManualClock;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pct-ignorecmd-'));
  clock = new ManualClock(Date.now());
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A checker that logs every argument it gets, one per line, and trusts 192.0.2.1 and 2001:db8::1. */
async function checker(): Promise<{ path: string; log: string }> {
  const path = join(dir, 'check.sh');
  const log = join(dir, 'calls.log');
  await writeFile(path, `#!/bin/sh\nfor a in "$@"; do printf '%s\\n' "$a" >> "${log}"; done\ncase "$2" in 192.0.2.1|2001:db8::1) exit 0;; *) exit 1;; esac\n`);
  await chmod(path, 0o755);
  return { path, log };
}

const lines = async (file: string): Promise<string[]> => (existsSync(file) ? (await readFile(file, 'utf8')).split('\n').filter((l) => l !== '') : []);

describe('ignorecommand', () => {
  it('runs a plain command directly with <ip> and <family> substituted into its arguments', async () => {
    const { path, log } = await checker();
    const cmd = createIgnoreCommand(`${path} "check ip" <ip> --family=<family>`, { clock });
    expect(cmd.spec.mode).toBe('exec');
    expect(await cmd.check('192.0.2.1')).toEqual({ ignored: true });
    expect(await cmd.check('192.0.2.2')).toEqual({ ignored: false });
    expect(await cmd.check('2001:DB8::1')).toEqual({ ignored: true });
    expect(await lines(log)).toEqual(['check ip', '192.0.2.1', '--family=inet4', 'check ip', '192.0.2.2', '--family=inet4', 'check ip', '2001:db8::1', '--family=inet6']);
  });

  it('never lets an address-like string with shell syntax reach a process', async () => {
    const marker = join(dir, 'pwned');
    const { path, log } = await checker();
    const exec = createIgnoreCommand(`${path} x <ip>`, { clock });
    const shell = createIgnoreCommand(`${path} x <ip> | cat > /dev/null`, { clock });
    const hostile = [`192.0.2.1; touch ${marker}`, `$(touch ${marker})`, `\`touch ${marker}\``, `192.0.2.1 && touch ${marker}`, `192.0.2.1\ntouch ${marker}`, `'; touch ${marker}; '`];
    for (const cmd of [exec, shell]) {
      for (const h of hostile) {
        const err = await cmd.check(h).then(
          () => null,
          (e: unknown) => e,
        );
        expect(isPortcullisError(err, 'PC_ADDRESS_INVALID'), h).toBe(true);
      }
    }
    expect(existsSync(marker)).toBe(false);
    expect(await lines(log)).toEqual([]);
  });

  it('passes the address to a shell command as a positional parameter, never as script text', async () => {
    const log = join(dir, 'shell.log');
    const text = `printf '%s\\n' <ip> "addr=<ip>" >> ${log} && test <ip> = 192.0.2.1`;
    const spec = parseIgnoreCommand(text);
    expect(spec.mode).toBe('shell');
    expect(spec.argv.slice(0, 2)).toEqual(['/bin/sh', '-c']);
    expect(spec.argv[2]).toBe(`printf '%s\\n' "$1" "addr=$1" >> ${log} && test "$1" = 192.0.2.1`);
    const cmd = createIgnoreCommand(text, { clock });
    expect(await cmd.check('192.0.2.1')).toEqual({ ignored: true });
    expect(await cmd.check('2001:db8::5')).toEqual({ ignored: false });
    expect(await lines(log)).toEqual(['192.0.2.1', 'addr=192.0.2.1', '2001:db8::5', 'addr=2001:db8::5']);
  });

  it('rejects commands it cannot run safely when the config is loaded', () => {
    const ref = { file: '/etc/portcullis/jail.local', line: 7 };
    for (const text of [`grep -q '<ip>' /etc/allow | true`, 'check <host>', 'check "<ip>', '  ']) {
      let err: unknown;
      try {
        parseIgnoreCommand(text, ref);
      } catch (e) {
        err = e;
      }
      expect(isPortcullisError(err, 'PC_CONFIG_INVALID'), text).toBe(true);
      expect((err as Error).message).toContain('jail.local:7');
    }
  });

  it('treats a failing, missing or slow command as "not ignored" with an error', async () => {
    const failing = createIgnoreCommand('/bin/sh -c "exit 3"', { clock });
    const r1 = await failing.check('192.0.2.1');
    expect(r1.ignored).toBe(false);
    expect(r1.error?.message).toMatch(/exited with 3/);

    const missing = createIgnoreCommand(join(dir, 'no-such-command') + ' <ip>', { clock });
    const r2 = await missing.check('192.0.2.1');
    expect(r2.ignored).toBe(false);
    expect(r2.error?.message).toMatch(/could not run/);

    const pidfile = join(dir, 'pid');
    const slow = createIgnoreCommand(`echo $$ > ${pidfile}; sleep 30 & wait`, { clock, timeoutMs: 300 });
    const started = Date.now();
    const r3 = await slow.check('192.0.2.1');
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(r3.ignored).toBe(false);
    expect(isPortcullisError(r3.error, 'PC_TIMEOUT')).toBe(true);
    const pid = Number((await readFile(pidfile, 'utf8')).trim());
    expect(() => process.kill(pid, 0)).toThrow();
  });

  it('caches answers briefly and runs once for concurrent checks of one address', async () => {
    const { path, log } = await checker();
    const cmd = createIgnoreCommand(`${path} x <ip>`, { clock, cacheTtlMs: 60_000 });
    const answers = await Promise.all([cmd.check('192.0.2.1'), cmd.check('192.0.2.1'), cmd.check('::ffff:192.0.2.1')]);
    expect(answers.map((a) => a.ignored)).toEqual([true, true, true]);
    expect(await cmd.check('192.0.2.1')).toEqual({ ignored: true });
    expect((await lines(log)).filter((l) => l === '192.0.2.1')).toHaveLength(1);
    clock.advance(60_001);
    await cmd.check('192.0.2.1');
    expect((await lines(log)).filter((l) => l === '192.0.2.1')).toHaveLength(2);
  });
});
