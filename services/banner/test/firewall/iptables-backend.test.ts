import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BannedAddress, JailEnforcement } from '../../src/firewall/backend.js';
import { jailNames } from '../../src/firewall/iptables/names.js';
import { useNetnsScope, type Netns } from '../../../../tests/harness/index.js';
import { Agent, ATTACKERS_V4, ATTACKERS_V6, createFirewallPair, SERVER_V4, SERVER_V6 } from './netns-agent.js';
import { ScriptAgent } from './script-agent.js';

/**
 * Real kernel: the iptables backend runs in the server namespace (with iptables-nft and with
 * iptables-legacy), connections come from the attacker namespace.
 */

const DRIVER = new URL('./iptables-driver.ts', import.meta.url);
const SSHD: JailEnforcement = { jail: 'sshd', ports: [{ from: 22, to: 22 }], protocols: ['tcp'], verdict: 'drop' };
/** A name that does not fit f2b-<jail>: it gets a hashed chain name. */
const WEB: JailEnforcement = {
  jail: 'nginx http.auth/ü with a long name',
  ports: [
    { from: 53, to: 53 },
    { from: 80, to: 80 },
  ],
  protocols: ['tcp', 'udp'],
  verdict: 'reject',
};
const RECIDIVE: JailEnforcement = { jail: 'recidive', ports: 'all', protocols: 'all', verdict: 'drop' };
const JAILS = [SSHD, WEB, RECIDIVE];
const WEB_CHAIN = jailNames(WEB.jail).chain;

const [A1, A2, A3, A4, A5, A6] = ATTACKERS_V4;
const [B1, B2] = ATTACKERS_V6;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.each(['nft', 'legacy'] as const)('iptables backend with iptables-%s (real kernel, netns)', (variant) => {
  const scope = useNetnsScope();
  let server: Netns;
  let srv: Agent;
  let ipt: ScriptAgent;
  let atk: Agent;
  const tool = (name: 'iptables' | 'ip6tables'): string => `${name}-${variant}`;

  const tcp = (port: number, from: string, timeoutMs = 600): Promise<string> =>
    atk.call('tcp.connect', { host: from.includes(':') ? SERVER_V6 : SERVER_V4, port, from, timeoutMs });
  const udp = (port: number, from: string): Promise<string> =>
    atk.call('udp.probe', { host: from.includes(':') ? SERVER_V6 : SERVER_V4, port, from, timeoutMs: 800 });
  const list = (jail?: string): Promise<BannedAddress[]> => ipt.call('list', jail === undefined ? {} : { jail });
  const ips = async (jail?: string): Promise<string[]> => (await list(jail)).map((e) => e.ip).sort();
  const show = async (cmd: string, ...args: string[]): Promise<string> => (await server.exec(cmd, args)).stdout;

  beforeAll(async () => {
    const pair = await createFirewallPair(scope);
    server = pair.server;
    srv = Agent.start(pair.server);
    atk = Agent.start(pair.attacker);
    ipt = ScriptAgent.start(pair.server, DRIVER);
    await ipt.call('iptables.create', { variant });
    // Rules, a chain and a set that are not ours: the backend must leave them alone.
    await server.exec(tool('iptables'), ['-N', 'f2b-other']);
    await server.exec(tool('iptables'), ['-A', 'INPUT', '-s', '198.51.100.9', '-j', 'ACCEPT']);
    await server.exec('ipset', ['create', 'foreign', 'hash:ip']);
    for (const port of [22, 80, 8080]) {
      await srv.call('tcp.listen', { host: SERVER_V4, port });
      await srv.call('tcp.listen', { host: SERVER_V6, port });
    }
    await srv.call('udp.listen', { host: SERVER_V4, port: 53 });
    await srv.call('udp.listen', { host: SERVER_V6, port: 53 });
  });

  afterAll(async () => {
    // The scope then deletes both namespaces, whatever happened here.
    await ipt?.stop();
    await srv?.stop();
    await atk?.stop();
  });

  it('connects before any ban', async () => {
    for (const from of [A1, A2, B1]) {
      expect(await tcp(22, from)).toBe('connected');
      expect(await tcp(80, from)).toBe('connected');
    }
    expect(await udp(53, A2)).toBe('reply');
  });

  it('setup creates f2b-<jail> chains as fail2ban does, backed by ipsets with timeouts', async () => {
    await ipt.call('setup', { jails: JAILS });
    const v4 = await show(tool('iptables'), '-L', '-n');
    expect(v4).toMatch(/Chain f2b-sshd \(1 references\)/);
    // fail2ban-multiport's jump: -p tcp -m multiport --dports 22 -j f2b-sshd, at the top of INPUT.
    expect(v4).toMatch(/Chain INPUT \(policy ACCEPT\)\ntarget\s+prot\s+opt\s+source\s+destination\s*\nf2b-/);
    expect(v4).toMatch(/f2b-sshd\s+(tcp|6)\s+--\s+0\.0\.0\.0\/0\s+0\.0\.0\.0\/0\s+multiport dports 22 \/\* portcullis:sshd \*\//);
    expect(v4).toMatch(/DROP\s+(all|0)\s+--\s+0\.0\.0\.0\/0\s+0\.0\.0\.0\/0\s+match-set f2b-sshd src/);
    expect(v4).toMatch(/RETURN/);
    expect(v4).toContain(`Chain ${WEB_CHAIN} (2 references)`);
    expect(v4).toMatch(/multiport dports 53,80/);
    expect(v4).toMatch(/reject-with icmp-port-unreachable/);
    expect(v4).toMatch(/f2b-recidive\s+(all|0)\s+--\s+0\.0\.0\.0\/0\s+0\.0\.0\.0\/0/);
    const v6 = await show(tool('ip6tables'), '-L', '-n');
    expect(v6).toMatch(/Chain f2b-sshd \(1 references\)/);
    expect(v6).toMatch(/match-set f2b-sshd6 src/);
    expect(v6).toMatch(/reject-with icmp6-port-unreachable/);
    const sets = (await show('ipset', 'list', '-n')).split('\n');
    expect(sets).toEqual(expect.arrayContaining(['f2b-sshd', 'f2b-sshd6', 'f2b-recidive', 'f2b-recidive6', WEB_CHAIN, `${WEB_CHAIN}6`, 'foreign']));
    expect(await show('ipset', 'list', 'f2b-sshd6')).toMatch(/Type: hash:ip[\s\S]*family inet6 .*timeout 0/);
    expect(await list()).toEqual([]);
  });

  it('drop: a banned address times out on the jail port only, others still connect (IPv4 and IPv6)', async () => {
    await ipt.call('ban', { entries: [{ jail: 'sshd', ip: A1, timeoutSec: 600 }, { jail: 'sshd', ip: B1, timeoutSec: null }] });
    expect(await tcp(22, A1)).toBe('timeout');
    expect(await tcp(80, A1)).toBe('connected');
    expect(await tcp(22, B1)).toBe('timeout');
    expect(await tcp(80, B1)).toBe('connected');
    expect(await tcp(22, A2)).toBe('connected');
    expect(await tcp(22, B2)).toBe('connected');
    const entries = await list('sshd');
    expect(entries.find((e) => e.ip === A1)?.expiresSec).toBeGreaterThan(590);
    expect(entries.find((e) => e.ip === B1)?.expiresSec).toBeNull();
    expect(await show('ipset', 'list', 'f2b-sshd')).toMatch(new RegExp(`${A1.replaceAll('.', '\\.')} timeout \\d+`));
  });

  it('reject (multiport, tcp and udp): tcp is refused, udp gets port-unreachable, unlisted ports are open', async () => {
    await ipt.call('ban', { entries: [{ jail: WEB.jail, ip: A2, timeoutSec: 600 }, { jail: WEB.jail, ip: B2, timeoutSec: 600 }] });
    for (const from of [A2, B2]) {
      // Linux reports an ICMPv6 error to a connecting TCP socket only once its SYN is retransmitted (~1 s).
      expect(await tcp(80, from, 2500)).toBe('refused');
      expect(await udp(53, from)).toBe('refused');
      expect(await tcp(8080, from)).toBe('connected');
      expect(await tcp(22, from)).toBe('connected');
    }
    expect(await udp(53, A3)).toBe('reply');
    expect(await ips(WEB.jail)).toEqual([A2, B2].sort());
  });

  it('allports: every port and protocol is dropped', async () => {
    await ipt.call('ban', { entries: [{ jail: 'recidive', ip: A3, timeoutSec: 600 }] });
    for (const port of [22, 80, 8080]) expect(await tcp(port, A3)).toBe('timeout');
    expect(await udp(53, A3)).toBe('timeout');
  });

  it('unban restores access; unbanning an absent address is not an error', async () => {
    await ipt.call('unban', {
      entries: [
        { jail: 'recidive', ip: A3 },
        { jail: 'sshd', ip: B1 },
        { jail: 'sshd', ip: A6 },
        { jail: 'recidive', ip: '2001:db8::dead' },
      ],
    });
    expect(await tcp(22, A3)).toBe('connected');
    expect(await tcp(22, B1)).toBe('connected');
    expect(await ips('recidive')).toEqual([]);
    expect(await ips('sshd')).toEqual([A1]);
  });

  it('a timeout expires by itself in the kernel', async () => {
    await ipt.call('ban', { entries: [{ jail: 'sshd', ip: A4, timeoutSec: 2 }, { jail: 'sshd', ip: '2001:db8::4', timeoutSec: 2 }] });
    expect(await tcp(22, A4)).toBe('timeout');
    expect(await tcp(22, '2001:db8::4')).toBe('timeout');
    await sleep(2300);
    expect(await tcp(22, A4)).toBe('connected');
    expect(await tcp(22, '2001:db8::4')).toBe('connected');
    expect(await ips('sshd')).toEqual([A1]);
  });

  it('re-banning replaces the timeout (longer, shorter, permanent); beyond ipset\'s limit a ban is permanent', async () => {
    await ipt.call('ban', { entries: [{ jail: 'sshd', ip: A4, timeoutSec: 2 }, { jail: 'sshd', ip: A5, timeoutSec: 600 }] });
    await ipt.call('ban', { entries: [{ jail: 'sshd', ip: A4, timeoutSec: 30 }, { jail: 'sshd', ip: A5, timeoutSec: 2 }] });
    let entries = await list('sshd');
    expect(entries.find((e) => e.ip === A4)?.expiresSec).toBeGreaterThan(25);
    expect(entries.find((e) => e.ip === A5)?.expiresSec).toBeLessThanOrEqual(2);
    await sleep(2300);
    expect(await tcp(22, A4)).toBe('timeout');
    expect(await tcp(22, A5)).toBe('connected');
    await ipt.call('ban', { entries: [{ jail: 'sshd', ip: A4, timeoutSec: null }] });
    expect((await list('sshd')).find((e) => e.ip === A4)?.expiresSec).toBeNull();
    await ipt.call('ban', { entries: [{ jail: 'sshd', ip: A4, timeoutSec: 100 }] });
    expect((await list('sshd')).find((e) => e.ip === A4)?.expiresSec).toBeGreaterThan(95);
    // 2147483 s is the kernel's largest timeout; a longer ban cannot expire there, so it is permanent.
    await ipt.call('ban', { entries: [{ jail: 'sshd', ip: A5, timeoutSec: 2_147_483 }, { jail: 'sshd', ip: A6, timeoutSec: 2_147_484 }] });
    entries = await list('sshd');
    expect(entries.find((e) => e.ip === A5)?.expiresSec).toBeGreaterThan(2_147_400);
    expect(entries.find((e) => e.ip === A6)?.expiresSec).toBeNull();
    await ipt.call('unban', { entries: [{ jail: 'sshd', ip: A5 }, { jail: 'sshd', ip: A6 }] });
  });

  it('a restarted backend (no memory) lists the kernel state; setup again keeps the elements', async () => {
    const before = await ips();
    expect(before.length).toBeGreaterThan(0);
    await ipt.call('iptables.create', { variant });
    expect(await ips()).toEqual(before);
    await expect(ipt.call('ban', { entries: [{ jail: 'sshd', ip: A6, timeoutSec: 5 }] })).rejects.toMatchObject({ code: 'PC_JAIL_UNKNOWN' });
    await ipt.call('setup', { jails: JAILS });
    await ipt.call('setup', { jails: JAILS });
    expect(await ips()).toEqual(before);
    expect(await tcp(22, A1)).toBe('timeout');
    // Setup twice leaves one jump per jail and protocol, not two.
    const v4 = await show(tool('iptables'), '-S', 'INPUT');
    expect(v4.match(/-j f2b-sshd$/gm)).toHaveLength(1);
    expect(v4.match(new RegExp(`-j ${WEB_CHAIN}$`, 'gm'))).toHaveLength(2);
  });

  it('setup without a jail removes its chains and sets; the other jails keep their elements', async () => {
    await ipt.call('ban', { entries: [{ jail: WEB.jail, ip: A5, timeoutSec: 600 }] });
    await ipt.call('setup', { jails: [SSHD, RECIDIVE] });
    expect(await ips(WEB.jail)).toEqual([]);
    expect(await tcp(80, A5)).toBe('connected');
    expect(await ips('sshd')).toEqual([A1, A4].sort());
    expect(await tcp(22, A1)).toBe('timeout');
    expect(await show(tool('iptables'), '-L', '-n')).not.toContain(WEB_CHAIN);
    expect(await show(tool('ip6tables'), '-L', '-n')).not.toContain(WEB_CHAIN);
    expect(await show('ipset', 'list', '-n')).not.toContain(WEB_CHAIN);
    await ipt.call('setup', { jails: JAILS });
  });

  it('reconcile makes the kernel hold exactly the desired set', async () => {
    await ipt.call('ban', { entries: [{ jail: 'recidive', ip: A6, timeoutSec: 600 }] });
    await ipt.call('reconcile', {
      desired: [
        { jail: 'sshd', ip: A1, timeoutSec: 50 }, // present with ~600 s left: rewritten to 50
        { jail: 'sshd', ip: B2, timeoutSec: null }, // missing: added
        { jail: WEB.jail, ip: A2, timeoutSec: 600 }, // missing (the set was recreated): added
        // A4 (sshd) and A6 (recidive) are not desired: removed
      ],
    });
    const now = await list();
    expect(now.map((e) => `${e.jail} ${e.ip}`).sort()).toEqual([`${WEB.jail} ${A2}`, `sshd ${A1}`, `sshd ${B2}`].sort());
    const a1 = now.find((e) => e.ip === A1)!;
    expect(a1.expiresSec).toBeGreaterThan(45);
    expect(a1.expiresSec).toBeLessThanOrEqual(50);
    expect(now.find((e) => e.ip === B2)?.expiresSec).toBeNull();
    expect(await tcp(22, A4)).toBe('connected');
    expect(await tcp(22, A6)).toBe('connected');
    expect(await tcp(22, B2)).toBe('timeout');
    expect(await tcp(80, A2, 2500)).toBe('refused');
  });

  it('rejects unknown jails and invalid addresses without touching the kernel', async () => {
    const before = await list();
    await expect(ipt.call('ban', { entries: [{ jail: 'nope', ip: A1, timeoutSec: 5 }] })).rejects.toMatchObject({ code: 'PC_JAIL_UNKNOWN' });
    await expect(
      ipt.call('ban', { entries: [{ jail: 'sshd', ip: A5, timeoutSec: 5 }, { jail: 'sshd', ip: '300.1.1.1', timeoutSec: 5 }] }),
    ).rejects.toMatchObject({ code: 'PC_ADDRESS_INVALID' });
    await expect(ipt.call('ban', { entries: [{ jail: 'sshd', ip: A5, timeoutSec: 0 }] })).rejects.toMatchObject({ code: 'PC_FIREWALL' });
    expect(await list()).toEqual(before);
  });

  it('refuses to take over a chain it did not create, changing nothing', async () => {
    const before = await show(tool('iptables'), '-S');
    await expect(ipt.call('setup', { jails: [...JAILS, { ...SSHD, jail: 'other' }] })).rejects.toMatchObject({ code: 'PC_FIREWALL' });
    await expect(ipt.call('setup', { jails: [...JAILS, { ...SSHD, jail: 'other' }] })).rejects.toThrow(/chain f2b-other exists .* not created by Portcullis/);
    expect(await show(tool('iptables'), '-S')).toBe(before);
  });

  it('bans 50,000 addresses in one ipset restore and re-bans them all', async () => {
    const first = await ipt.call<{ ms: number }>('ban.generated', { jail: 'recidive', count: 50_000, timeoutSec: 3600 }, 120_000);
    const again = await ipt.call<{ ms: number }>('ban.generated', { jail: 'recidive', count: 50_000, timeoutSec: 7200 }, 120_000);
    const all = await list('recidive');
    expect(all).toHaveLength(50_000);
    expect(Math.min(...all.map((e) => e.expiresSec ?? 0))).toBeGreaterThan(7100);
    expect(await tcp(22, A1)).toBe('timeout');
    expect(await tcp(22, A3)).toBe('connected');
    // The set grew (its hash size changed): setup must still accept it as ours, elements kept.
    await ipt.call('setup', { jails: JAILS });
    expect(await list('recidive')).toHaveLength(50_000);
    const t0 = performance.now();
    await ipt.call('reconcile.generated', { jail: 'recidive', count: 25_000, timeoutSec: 7200 }, 120_000);
    const reconcileMs = performance.now() - t0;
    expect(await list('recidive')).toHaveLength(25_000);
    console.log(
      `[iptables-${variant}] ban 50,000 new: ${first.ms.toFixed(0)} ms; re-ban 50,000 existing: ${again.ms.toFixed(0)} ms; reconcile down to 25,000: ${reconcileMs.toFixed(0)} ms`,
    );
    expect(first.ms).toBeLessThan(10_000);
  });

  it('teardown removes only its own chains, jumps and sets', async () => {
    await ipt.call('teardown');
    const v4 = await show(tool('iptables'), '-S');
    expect(v4).not.toMatch(/f2b-sshd|f2b-recidive|portcullis/);
    expect(v4).toContain('-N f2b-other');
    expect(v4).toContain('-A INPUT -s 198.51.100.9/32 -j ACCEPT');
    expect(await show(tool('ip6tables'), '-S')).not.toMatch(/f2b-|portcullis/);
    expect((await show('ipset', 'list', '-n')).trim()).toBe('foreign');
    expect(await tcp(22, A1)).toBe('connected');
    expect(await list()).toEqual([]);
    await ipt.call('teardown'); // a second teardown finds nothing and is fine
  });
});
