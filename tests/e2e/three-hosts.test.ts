/**
 * A fleet of three hosts, each a network namespace with its own firewall running `portcullis up`,
 * sharing one NATS and one Redis in a fourth "hub" namespace. An attack seen in one host's logs is
 * enforced on all three; a host that trusts the address does not enforce it; a host that was down
 * during a ban and an unban comes back consistent with the fleet.
 */
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkNetns, useNetnsScope, type Netns } from '../harness/index.js';
import { sshdFailure, StackProcess, waitFor } from './stack-process.js';

const scope = useNetnsScope();
const NAMES = ['a', 'b', 'c'] as const;
type HostName = (typeof NAMES)[number];
interface Host {
  ns: Netns;
  stack: StackProcess;
  log: string;
}
const hosts = {} as Record<HostName, Host>;
let dir: string;

async function inKernel(h: HostName, ip: string): Promise<boolean> {
  const r = await hosts[h].ns.exec('nft', ['list', 'set', 'inet', 'portcullis', 'sshd-v4'], { check: false });
  return r.code === 0 && r.stdout.includes(ip);
}

async function fleetState(ip: string): Promise<Record<HostName, boolean>> {
  return { a: await inKernel('a', ip), b: await inKernel('b', ip), c: await inKernel('c', ip) };
}

function attack(on: HostName, ip: string): void {
  for (let i = 0; i < 3; i++) appendFileSync(hosts[on].log, sshdFailure(ip));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pct-fleet-'));
  const hub = await scope.create();
  mkdirSync(join(dir, 'redis'));
  hub.spawn('nats-server', ['-js', '-a', '0.0.0.0', '-p', '4222', '-sd', join(dir, 'nats')], { stdio: 'ignore' });
  hub.spawn('redis-server', ['--bind', '0.0.0.0', '--protected-mode', 'no', '--port', '6379', '--dir', join(dir, 'redis'), '--appendonly', 'yes', '--save', ''], {
    stdio: 'ignore',
  });
  await Promise.all(
    NAMES.map(async (name, i) => {
      const ns = await scope.create();
      const hubAddr = `198.51.100.${4 * i + 1}`;
      await linkNetns(hub, ns, { aAddr: `${hubAddr}/30`, bAddr: `198.51.100.${4 * i + 2}/30` });
      const cfg = join(dir, name, 'config');
      mkdirSync(cfg, { recursive: true });
      const log = join(dir, name, 'auth.log');
      writeFileSync(log, '');
      // Host b trusts 192.0.2.99: whatever the fleet decides, b never blocks it.
      writeFileSync(
        join(cfg, 'jail.local'),
        `[DEFAULT]\n${name === 'b' ? 'ignoreip = 192.0.2.99\n' : ''}\n[sshd]\nenabled = true\nport = ssh\nlogpath = ${log}\nmaxretry = 3\nbantime = 1h\n`,
      );
      writeFileSync(join(cfg, 'portcullis.local'), `[portcullis]\nhost = host-${name}\nnats_url = nats://${hubAddr}:4222\nredis_url = redis://${hubAddr}:6379\n`);
      hosts[name] = { ns, log, stack: new StackProcess(ns, cfg, join(dir, name, 'state'), join(dir, name, 'stack.log')) };
    }),
  );
  await waitFor(async () => (await hub.probeTcp('127.0.0.1', 4222, 300)) === 'accepted' && (await hub.probeTcp('127.0.0.1', 6379, 300)) === 'accepted', 15_000, () => 'hub servers did not start');
  await Promise.all(NAMES.map((n) => hosts[n].stack.start()));
}, 120_000);

afterAll(async () => {
  await Promise.all(NAMES.map((n) => hosts[n]?.stack.stop('SIGTERM')));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a fleet of three hosts', () => {
  it('enforces an attack seen on host a on every host', async () => {
    const ip = '192.0.2.10';
    attack('a', ip);
    await waitFor(async () => Object.values(await fleetState(ip)).every(Boolean), 20_000, () => 'not enforced everywhere');
    expect(await fleetState(ip)).toEqual({ a: true, b: true, c: true });
  });

  it('is decided once: every host reports the same single ban', async () => {
    for (const n of NAMES) {
      const r = await hosts[n].stack.cli(['status', 'sshd', '--json']);
      expect(r.code, r.stderr).toBe(0);
      const st = JSON.parse(r.stdout) as { bans: { ip: string }[]; totalBanned: number };
      expect(st.bans.filter((b) => b.ip === '192.0.2.10')).toHaveLength(1);
    }
  });

  it('does not enforce on a host that trusts the address', async () => {
    const ip = '192.0.2.99';
    attack('a', ip);
    await waitFor(async () => (await inKernel('a', ip)) && (await inKernel('c', ip)), 20_000, () => 'not enforced on a and c');
    // b received the same decision; give it the same time again, then check it stayed out.
    await new Promise((r) => setTimeout(r, 500));
    expect(await inKernel('b', ip)).toBe(false);
    expect(hosts.b.stack.logText()).toContain('decision for an address this host trusts');
  });

  it('brings a host that was down during a ban and an unban back in line', async () => {
    const unbanned = '192.0.2.21';
    const banned = '192.0.2.20';
    attack('b', unbanned);
    await waitFor(async () => Object.values(await fleetState(unbanned)).every(Boolean), 20_000, () => 'first ban not everywhere');

    await hosts.c.stack.stop('SIGKILL');
    attack('a', banned);
    await waitFor(async () => (await inKernel('a', banned)) && (await inKernel('b', banned)), 20_000, () => 'ban while c is down');
    const r = await hosts.a.stack.cli(['unban', unbanned]);
    expect(r.code, r.stderr).toBe(0);
    await waitFor(async () => !(await inKernel('a', unbanned)) && !(await inKernel('b', unbanned)), 10_000, () => 'unban while c is down');
    // c's kernel still holds the stale state while it is down.
    expect(await inKernel('c', unbanned)).toBe(true);
    expect(await inKernel('c', banned)).toBe(false);

    await hosts.c.stack.start();
    await waitFor(async () => (await inKernel('c', banned)) && !(await inKernel('c', unbanned)), 15_000, () => 'c did not reconcile');
    expect(await fleetState(banned)).toEqual({ a: true, b: true, c: true });
    expect(await fleetState(unbanned)).toEqual({ a: false, b: false, c: false });
  }, 90_000);
});
