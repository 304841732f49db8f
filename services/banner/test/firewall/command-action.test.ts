import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, ManualClock, type PortcullisError } from '@portcullis/shared';
import type { BanEntry, FirewallBackend, JailEnforcement } from '../../src/firewall/backend.js';
import { actionStateRoot } from '../../src/firewall/command/action-state.js';
import { createJailActions } from '../../src/firewall/command/jail-actions.js';
import type { ActionFailure } from '../../src/firewall/command/tracked-action.js';
import { capturedLogger, configDir, enforcementsIn, MemoryBackend, memoryRegistry } from './command-helpers.js';

/** fail2ban command actions run for real (/bin/sh, files in a temporary directory); no firewall involved. */

const quiet = createLogger({ service: 'test', level: 'silent' });
const AT = Date.UTC(2026, 0, 1, 12, 0, 0);
const dirs: string[] = [];

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function world(files: Record<string, string>, jailConf: (dir: string) => string, opts: { kernelJails?: string[] } = {}) {
  const dir = configDir(files, jailConf);
  dirs.push(dir);
  const memory = new MemoryBackend();
  const failures: ActionFailure[] = [];
  const captured = capturedLogger();
  const clock = new ManualClock(AT);
  const jails: JailEnforcement[] = enforcementsIn(dir).map((e) => ({ ...e, backend: opts.kernelJails?.includes(e.jail) ? 'memory' : null }));
  const make = (): FirewallBackend =>
    createJailActions({
      main: 'memory',
      registry: memoryRegistry(memory),
      backendOptions: { table: 'portcullis', log: quiet },
      stateDir: path.join(dir, 'state'),
      log: captured.log,
      clock,
      hostname: 'testhost.example',
      onActionError: (f) => failures.push(f),
    });
  const read = (name: string): string => (existsSync(path.join(dir, name)) ? readFileSync(path.join(dir, name), 'utf8') : '');
  return { dir, memory, failures, captured, clock, jails, make, read };
}

const FILELOG = `
[Definition]
actionstart = echo "start <name> <actname> <family>" >> <target>
actionstop = echo "stop <name> <family>" >> <target>
actionflush = echo "flush <family>" >> <target>
actionban = printf '%%s|' ban <ip> <family> <ip-rev> <port> <protocol> <bantime> <failures> <bancount> <time> <restored> "<F-USER>" <sh-hostname> >> <target>
            echo >> <target>
actionunban = echo "unban <ip_value>" >> <target>

[Init]
target = /dev/null
port = ssh
protocol = tcp
ip_value = <ip>

[Init?family=inet6]
ip_value = [<ip>]
`;

const PLAIN = `
[Definition]
actionstart = echo "start <name>" >> <target>
actionstop = echo "stop <name>" >> <target>
actionban = echo "+<ip> <matches>" >> <target>
actionprolong = echo "prolong <ip> <bantime>" >> <target>
actionunban = echo "-<ip>" >> <target>
norestored = true

[Init]
target = /dev/null
`;

const ctx = { failures: 5, banCount: 2, at: AT, bantime: 600, fields: { user: 'root' } };

describe('command actions (fail2ban action.d files run by /bin/sh)', () => {
  it('a stock-style action bans and unbans by writing to a file, with its tags substituted, started per family on demand', async () => {
    const w = world({ 'action.d/filelog.conf': FILELOG }, (d) => `[web]\nbantime = 600\naction = filelog[target="${d}/out", port="http,https"]\n`);
    const fw = w.make();
    await fw.setup(w.jails);
    expect(w.read('out')).toBe(''); // family-conditional: started at the first ban of each family
    await fw.ban([{ jail: 'web', ip: '192.0.2.10', timeoutSec: 600, context: ctx }]);
    await fw.ban([{ jail: 'web', ip: '2001:DB8::10', timeoutSec: 600, context: { ...ctx, fields: {} } }]);
    await fw.ban([{ jail: 'web', ip: '192.0.2.10', timeoutSec: 900, context: ctx }]); // held: nothing runs
    await fw.unban([{ jail: 'web', ip: '2001:db8::10' }]);
    await fw.unban([{ jail: 'web', ip: '2001:db8::10' }, { jail: 'web', ip: '192.0.2.99' }]); // not held: nothing runs
    // fail2ban's IPAddr('2001:db8::10').getPTR('')
    const rev6 = '0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.';
    expect(w.read('out').split('\n')).toEqual([
      'start web filelog inet4',
      'ban|192.0.2.10|inet4|10.2.0.192.|http,https|tcp|600|5|2|1767268800|0|root|testhost|',
      'start web filelog inet6',
      `ban|2001:db8::10|inet6|${rev6}|http,https|tcp|600|5|2|1767268800|0||testhost|`,
      'unban [2001:db8::10]',
      '',
    ]);
    expect(await fw.list()).toEqual([{ jail: 'web', ip: '192.0.2.10', expiresSec: 900 }]);
    expect(readdirSync(path.join(actionStateRoot(path.join(w.dir, 'state')), 'web'))).toEqual(['filelog.json']);
    await fw.teardown();
    expect(w.read('out').split('\n').slice(5)).toEqual(['flush inet4', 'stop web inet4', 'stop web inet6', '']);
    expect(readdirSync(path.join(actionStateRoot(path.join(w.dir, 'state')), 'web'))).toEqual([]);
    expect(w.failures).toEqual([]);
  });

  it('keeps what it applied across a restart: reconcile bans what is missing, unbans what is stale, honours norestored and prolong', async () => {
    const w = world({ 'action.d/plain.conf': PLAIN }, (d) => `[j2]\nbantime = 600\naction = plain[target="${d}/out"]\n`);
    const a = '192.0.2.1';
    const b = '192.0.2.2';
    const c = '192.0.2.3';
    let fw = w.make();
    await fw.setup(w.jails);
    await fw.ban([{ jail: 'j2', ip: a, timeoutSec: 600, context: { matches: ['line one', 'line two'] } }]);
    await fw.ban([{ jail: 'j2', ip: a, timeoutSec: 1200, context: { bantime: 1200 } }]);
    await fw.ban([{ jail: 'j2', ip: c, timeoutSec: 600 }]);
    fw.close();
    // A new banner process: nothing in memory, the state is on disk.
    fw = w.make();
    await fw.setup(w.jails);
    await fw.reconcile([
      { jail: 'j2', ip: a, timeoutSec: 500 }, // held: nothing runs
      { jail: 'j2', ip: b, timeoutSec: 500 }, // missing, restored, and the action says norestored: not run
      // c is not desired: unbanned
    ]);
    await fw.unban([{ jail: 'j2', ip: b }]); // applied as restored under norestored: nothing runs
    await fw.unban([{ jail: 'j2', ip: a }]);
    expect(w.read('out').split('\n')).toEqual([
      'start j2',
      `+${a} line one`,
      'line two',
      `prolong ${a} 1200`,
      `+${c} `,
      'start j2',
      `-${c}`,
      `-${a}`,
      '',
    ]);
    expect(await fw.list()).toEqual([]);
    expect(w.failures).toEqual([]);
  });

  it('routes kernel enforcement to the kernel backend and runs command actions for every jail that has them', async () => {
    const w = world(
      { 'action.d/plain.conf': PLAIN },
      (d) => `[k]\naction = plain[target="${d}/k"]\n\n[c]\naction = plain[target="${d}/c"]\n\n[n]\naction = sendmail-whois[dest=root]\n`,
      { kernelJails: ['k'] },
    );
    const fw = w.make();
    await fw.setup(w.jails);
    expect(w.memory.calls).toEqual(['setup k']);
    await fw.ban([
      { jail: 'k', ip: '192.0.2.1', timeoutSec: 60 },
      { jail: 'c', ip: '192.0.2.2', timeoutSec: null },
      { jail: 'n', ip: '192.0.2.3', timeoutSec: 60 },
    ]);
    expect(w.memory.calls.at(-1)).toBe('ban k/192.0.2.1');
    expect(w.read('k')).toBe('start k\n+192.0.2.1 \n');
    expect(w.read('c')).toBe('start c\n+192.0.2.2 \n');
    // k from the kernel, c (no kernel enforcement) from what its command action holds, n holds nothing.
    expect((await fw.list()).map((e) => `${e.jail} ${e.ip} ${e.expiresSec}`).sort()).toEqual(['c 192.0.2.2 null', 'k 192.0.2.1 60']);
    await fw.reconcile([{ jail: 'c', ip: '192.0.2.4', timeoutSec: 60 }]);
    expect(w.memory.calls.at(-1)).toBe('reconcile ');
    expect(w.read('c')).toBe('start c\n+192.0.2.2 \n-192.0.2.2\n');
    // reconcile bans as restored and plain says norestored: 192.0.2.4 is held without running.
    expect((await fw.list('c')).map((e) => e.ip)).toEqual(['192.0.2.4']);
    const before = [...w.memory.calls];
    await expect(fw.ban([{ jail: 'c', ip: '192.0.2.5', timeoutSec: 60 }, { jail: 'nope', ip: '192.0.2.5', timeoutSec: 60 }])).rejects.toMatchObject({ code: 'PC_JAIL_UNKNOWN' });
    await expect(fw.ban([{ jail: 'k', ip: '192.0.2.5', timeoutSec: 60 }, { jail: 'c', ip: '192.0.2.5; touch x', timeoutSec: 60 }])).rejects.toMatchObject({
      code: 'PC_ADDRESS_INVALID',
    });
    expect(w.memory.calls).toEqual(before);
    expect(w.read('c')).toBe('start c\n+192.0.2.2 \n-192.0.2.2\n');
  });

  it('passes log content to the shell as data only: no injected command ever runs', async () => {
    const inject = `
[Definition]
actionban = printf '%%s\\n' <F-USER> >> <out>
            printf '%%s\\n' "<F-USER>" >> <out>
            printf '%%s\\n' '<F-USER>' >> <out>
            printf '%%s\\n' "u=<F-USER>;m=<matches>" >> <out>
            printf '%%s\\n' '<ip>'"<F-USER>"<ip> >> <out>
            printf '%%s\\n' "$(printf '%%s' "<F-USER>")" >> <out>
            printf '%%s\\n' "$(printf '%%s' <F-USER>)" >> <out>
            printf '%%s\\n' "\`printf '%%s' <F-USER>\`" >> <out>
            printf '%%s\\n' "\${UNSET_VAR:-<F-USER>}" >> <out>
            printf '%%s\\n' \${UNSET_VAR:-<F-USER>} >> <out>
            cat >> <out> <<EOF
            doc <F-USER>
            EOF
            printf '%%s\\n' $((<failures> + 1)) >> <out>
            # a comment naming <F-USER> is inert
[Init]
out = /dev/null
`;
    const w = world({ 'action.d/inject.conf': inject }, (d) => `[ssh]\naction = inject[out="${d}/out"]\n`);
    const fw = w.make();
    await fw.setup(w.jails);
    const pwned = (n: number): string => path.join(w.dir, `pwned${n}`);
    const users = [
      `$(touch ${pwned(1)})`,
      `'; touch ${pwned(2)} #`,
      `"; touch ${pwned(3)}; echo "`,
      `\`touch ${pwned(4)}\``,
      `\${IFS}; touch ${pwned(5)}`,
      `a * b ? [c] ~ | > ${pwned(6)}`,
      `'"'"'; touch ${pwned(7)}; '"'"'`,
      `EOF\ntouch ${pwned(8)}`.replace('\n', ' '),
      `\\'; touch ${pwned(9)} \\`,
    ];
    const matches = [`line with $(touch ${pwned(10)}) and "quotes" and 'single'`, `second; touch ${pwned(11)}`];
    let expected = '';
    for (const [i, user] of users.entries()) {
      const ip = `192.0.2.${100 + i}`;
      await fw.ban([{ jail: 'ssh', ip, timeoutSec: 60, context: { failures: i, fields: { user }, matches } }]);
      const m = matches.join('\n');
      expected += [user, user, user, `u=${user};m=${m}`, `${ip}${user}${ip}`, user, user, user, user, user, `doc ${user}`, String(i + 1), ''].join('\n');
    }
    expect(w.failures).toEqual([]);
    expect(w.read('out')).toBe(expected);
    for (let n = 1; n <= 11; n++) expect(existsSync(pwned(n)), `pwned${n}`).toBe(false);
  });

  it('refuses a ban-time tag in a here-document with a quoted delimiter, when the configuration is read', () => {
    const quoted = `[Definition]\nactionban = cat >> /dev/null <<'EOF'\n            <ip>\n            EOF\n`;
    expect(() => world({ 'action.d/quoted.conf': quoted }, () => `[ssh]\naction = quoted\n`)).toThrow(
      /jail \[ssh\] action quoted: actionban: <ip> stands in a here-document with a quoted delimiter/,
    );
  });

  it('kills a command that outlives its timeout, with everything it started, and reports it', async () => {
    const hang = `
[Definition]
actionban = echo $$ > <out>.pid
            sleep 30 &
            echo $! > <out>.child
            wait
[Init]
timeout = 1
out = /dev/null
`;
    const w = world({ 'action.d/hang.conf': hang }, (d) => `[ssh]\naction = hang[out="${d}/out"]\n`);
    const fw = w.make();
    await fw.setup(w.jails);
    const t0 = performance.now();
    await fw.ban([{ jail: 'ssh', ip: '192.0.2.7', timeoutSec: 60 }]);
    const ms = performance.now() - t0;
    // fail2ban runs a failed command once more: two 1 s timeouts, each with its grace period.
    expect(ms).toBeGreaterThan(1950);
    expect(ms).toBeLessThan(8000);
    expect(w.failures).toHaveLength(1);
    const err = w.failures[0]!.error;
    expect(err.code).toBe('PC_FIREWALL');
    expect(err.message).toMatch(/jail ssh action hang: actionban for 192\.0\.2\.7 did not finish within 1 s and was killed/);
    expect((err.cause as PortcullisError).code).toBe('PC_TIMEOUT');
    for (const f of ['out.pid', 'out.child']) expect(alive(Number(w.read(f).trim())), f).toBe(false);
    expect(await fw.list()).toEqual([]);
  });

  it('reports a failing command (PC_FIREWALL with its output, logged), retries it once, and a later reconcile applies it', async () => {
    const picky = `
[Definition]
actionban = printf '%%s\\n' "attempt <ip>" >> <out>.count
            test -f <out>.allow || { echo "refusing <ip>" >&2; exit 3; }
            printf '%%s\\n' "+<ip>" >> <out>
[Init]
out = /dev/null
`;
    const w = world({ 'action.d/picky.conf': picky }, (d) => `[ssh]\naction = picky[out="${d}/out"]\n`);
    const fw = w.make();
    await fw.setup(w.jails);
    const entry: BanEntry = { jail: 'ssh', ip: '192.0.2.20', timeoutSec: 60 };
    await fw.ban([entry]);
    expect(w.failures.map((f) => [f.jail, f.action, f.ip, f.error.code])).toEqual([['ssh', 'picky', '192.0.2.20', 'PC_FIREWALL']]);
    expect(w.failures[0]!.error.message).toBe('jail ssh action picky: actionban for 192.0.2.20 exited with 3: refusing 192.0.2.20');
    expect(w.read('out.count')).toBe('attempt 192.0.2.20\nattempt 192.0.2.20\n');
    const logged = w.captured.lines().filter((l) => l.msg === 'action command failed');
    expect(logged).toHaveLength(2);
    expect(logged[0]).toMatchObject({ jail: 'ssh', action: 'picky', op: 'actionban', ip: '192.0.2.20', code: 3, stderr: 'refusing 192.0.2.20\n' });
    expect(await fw.list()).toEqual([]);
    writeFileSync(path.join(w.dir, 'out.allow'), '');
    await fw.reconcile([entry]);
    expect(w.read('out')).toBe('+192.0.2.20\n');
    expect(w.failures).toHaveLength(1);
  });

  it('on a failure runs actioncheck, then actionrepair, then the command again', async () => {
    const repair = `
[Definition]
actioncheck = test -f <out>.sane
actionrepair = touch <out>.sane; echo repaired >> <out>
actionban = test -f <out>.sane && echo "+<ip>" >> <out>
[Init]
out = /dev/null
`;
    const w = world({ 'action.d/repair.conf': repair }, (d) => `[ssh]\naction = repair[out="${d}/out"]\n`);
    const fw = w.make();
    await fw.setup(w.jails);
    await fw.ban([{ jail: 'ssh', ip: '192.0.2.30', timeoutSec: 60 }]);
    expect(w.read('out')).toBe('repaired\n+192.0.2.30\n');
    expect(w.failures).toEqual([]);
  });
});

/** True while the process exists and is not a zombie (a container's pid 1 may not reap it). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
