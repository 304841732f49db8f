import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BannedAddress, JailEnforcement } from '../../src/firewall/backend.js';
import type { NftTransport } from '../../../../packages/shared/src/nft/nft-error.js';
import { useNetnsScope } from '../../../../tests/harness/index.js';
import { Agent, ATTACKERS_V4, ATTACKERS_V6, createFirewallPair, SERVER_V4, SERVER_V6 } from './netns-agent.js';

/** Real kernel: the backend runs in the server namespace, connections come from the attacker one. */

const TABLE = 'portcullis';
const SSHD: JailEnforcement = { jail: 'sshd', ports: [{ from: 22, to: 22 }], protocols: ['tcp'], verdict: 'drop' };
const WEB: JailEnforcement = {
  jail: 'nginx http.auth/ü',
  ports: [
    { from: 53, to: 53 },
    { from: 80, to: 80 },
  ],
  protocols: ['tcp', 'udp'],
  verdict: 'reject',
};
const RECIDIVE: JailEnforcement = { jail: 'recidive', ports: 'all', protocols: 'all', verdict: 'drop' };
const JAILS = [SSHD, WEB, RECIDIVE];

const [A1, A2, A3, A4, A5, A6] = ATTACKERS_V4;
const [B1, B2] = ATTACKERS_V6;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.each<NftTransport>(['libnftables', 'nft-binary'])('nftables backend via %s (real kernel, netns)', (transport) => {
  const scope = useNetnsScope();
  let srv: Agent;
  let atk: Agent;

  const tcp = (port: number, from: string, timeoutMs = 600): Promise<string> =>
    atk.call('tcp.connect', { host: from.includes(':') ? SERVER_V6 : SERVER_V4, port, from, timeoutMs });
  const udp = (port: number, from: string): Promise<string> =>
    atk.call('udp.probe', { host: from.includes(':') ? SERVER_V6 : SERVER_V4, port, from, timeoutMs: 800 });
  const list = (jail?: string): Promise<BannedAddress[]> => srv.call('list', jail === undefined ? {} : { jail });
  const ips = async (jail?: string): Promise<string[]> => (await list(jail)).map((e) => e.ip).sort();

  beforeAll(async () => {
    const pair = await createFirewallPair(scope);
    srv = Agent.start(pair.server);
    atk = Agent.start(pair.attacker);
    await srv.call('backend.create', { table: TABLE, transport });
    // A table that is not ours: the backend must never touch it.
    await srv.call('client.open', { prefer: transport });
    await srv.call('client.run', { commands: [{ add: { table: { family: 'inet', name: 'other' } } }] });
    for (const port of [22, 80, 8080]) {
      await srv.call('tcp.listen', { host: SERVER_V4, port });
      await srv.call('tcp.listen', { host: SERVER_V6, port });
    }
    await srv.call('udp.listen', { host: SERVER_V4, port: 53 });
    await srv.call('udp.listen', { host: SERVER_V6, port: 53 });
  });

  afterAll(async () => {
    // The scope then deletes both namespaces, whatever happened here.
    await srv?.stop();
    await atk?.stop();
  });

  it('uses the requested transport and connects before any ban', async () => {
    expect(await srv.call('client.open', { prefer: transport })).toBe(transport);
    for (const from of [A1, A2, B1]) {
      expect(await tcp(22, from)).toBe('connected');
      expect(await tcp(80, from)).toBe('connected');
    }
    expect(await udp(53, A2)).toBe('reply');
  });

  it('setup creates the table, chain, sets and rules', async () => {
    await srv.call('setup', { jails: JAILS });
    const text = await srv.call<string>('nft.text');
    expect(text).toContain(`table inet ${TABLE}`);
    expect(text).toMatch(/type filter hook input priority filter - 1; policy accept;/);
    expect(text).toContain('set sshd-v4');
    expect(text).toContain('set sshd-v6');
    // "nginx http.auth/ü" escaped to a valid, reversible identifier.
    expect(text).toContain('set nginx.20http.2eauth.2f.c3.bc-v4');
    expect(text).toContain('set recidive-v6');
    // the probe of how the kernel updates timeouts (timeout-update-probe.ts) leaves nothing behind
    expect(text).not.toContain('probe');
    expect(await list()).toEqual([]);
  });

  it('drop: a banned address times out on the jail port only, others still connect (IPv4 and IPv6)', async () => {
    await srv.call('ban', { entries: [{ jail: 'sshd', ip: A1, timeoutSec: 600 }, { jail: 'sshd', ip: B1, timeoutSec: null }] });
    expect(await tcp(22, A1)).toBe('timeout');
    expect(await tcp(80, A1)).toBe('connected');
    expect(await tcp(22, B1)).toBe('timeout');
    expect(await tcp(80, B1)).toBe('connected');
    expect(await tcp(22, A2)).toBe('connected');
    expect(await tcp(22, B2)).toBe('connected');
    const entries = await list('sshd');
    expect(entries.find((e) => e.ip === A1)?.expiresSec).toBeGreaterThan(590);
    expect(entries.find((e) => e.ip === B1)?.expiresSec).toBeNull();
  });

  it('reject: tcp gets a reset (refused), udp an ICMP port-unreachable, unlisted ports are open', async () => {
    await srv.call('ban', { entries: [{ jail: WEB.jail, ip: A2, timeoutSec: 600 }, { jail: WEB.jail, ip: B2, timeoutSec: 600 }] });
    for (const from of [A2, B2]) {
      expect(await tcp(80, from)).toBe('refused');
      expect(await udp(53, from)).toBe('refused');
      expect(await tcp(8080, from)).toBe('connected');
    }
    expect(await udp(53, A3)).toBe('reply');
    expect(await ips(WEB.jail)).toEqual([A2, B2].sort());
  });

  it('allports: every port and protocol is dropped', async () => {
    await srv.call('ban', { entries: [{ jail: 'recidive', ip: A3, timeoutSec: 600 }] });
    for (const port of [22, 80, 8080]) expect(await tcp(port, A3)).toBe('timeout');
    expect(await udp(53, A3)).toBe('timeout');
  });

  it('unban restores access; unbanning an absent address is not an error', async () => {
    await srv.call('unban', {
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
    await srv.call('ban', { entries: [{ jail: 'sshd', ip: A4, timeoutSec: 2 }] });
    expect(await tcp(22, A4)).toBe('timeout');
    await sleep(2300);
    expect(await tcp(22, A4)).toBe('connected');
    expect(await ips('sshd')).not.toContain(A4);
  });

  it('re-banning replaces the timeout (longer and shorter)', async () => {
    await srv.call('ban', { entries: [{ jail: 'sshd', ip: A4, timeoutSec: 2 }, { jail: 'sshd', ip: A5, timeoutSec: 600 }] });
    await srv.call('ban', { entries: [{ jail: 'sshd', ip: A4, timeoutSec: 30 }, { jail: 'sshd', ip: A5, timeoutSec: 2 }] });
    const entries = await list('sshd');
    expect(entries.find((e) => e.ip === A4)?.expiresSec).toBeGreaterThan(25);
    expect(entries.find((e) => e.ip === A5)?.expiresSec).toBeLessThanOrEqual(2);
    await sleep(2300);
    expect(await tcp(22, A4)).toBe('timeout');
    expect(await tcp(22, A5)).toBe('connected');
    // permanent -> timed and timed -> permanent
    await srv.call('ban', { entries: [{ jail: 'sshd', ip: A4, timeoutSec: null }] });
    expect((await list('sshd')).find((e) => e.ip === A4)?.expiresSec).toBeNull();
    await srv.call('ban', { entries: [{ jail: 'sshd', ip: A4, timeoutSec: 100 }] });
    expect((await list('sshd')).find((e) => e.ip === A4)?.expiresSec).toBeGreaterThan(95);
  });

  it('a restarted backend (new context, no memory) lists the kernel state; setup again keeps the elements', async () => {
    const before = await list();
    expect(before.length).toBeGreaterThan(0);
    await srv.call('backend.create', { table: TABLE, transport });
    expect((await list()).map((e) => e.ip).sort()).toEqual(before.map((e) => e.ip).sort());
    await expect(srv.call('ban', { entries: [{ jail: 'sshd', ip: A6, timeoutSec: 5 }] })).rejects.toMatchObject({ code: 'PC_JAIL_UNKNOWN' });
    await srv.call('setup', { jails: JAILS });
    expect((await list()).map((e) => e.ip).sort()).toEqual(before.map((e) => e.ip).sort());
    expect(await tcp(22, A1)).toBe('timeout');
  });

  it('setup without a jail removes its sets; the other jails keep their elements', async () => {
    await srv.call('ban', { entries: [{ jail: WEB.jail, ip: A5, timeoutSec: 600 }] });
    await srv.call('setup', { jails: [SSHD, RECIDIVE] });
    expect(await ips(WEB.jail)).toEqual([]);
    expect(await tcp(80, A5)).toBe('connected');
    expect(await ips('sshd')).toEqual([A1, A4].sort());
    expect(await tcp(22, A1)).toBe('timeout');
    const text = await srv.call<string>('nft.text');
    expect(text).not.toContain('nginx');
    await srv.call('setup', { jails: JAILS });
  });

  it('reconcile makes the kernel hold exactly the desired set', async () => {
    await srv.call('ban', { entries: [{ jail: 'recidive', ip: A6, timeoutSec: 600 }] });
    await srv.call('reconcile', {
      desired: [
        { jail: 'sshd', ip: A1, timeoutSec: 50 }, // present with ~600 s left: rewritten to 50
        { jail: 'sshd', ip: B2, timeoutSec: null }, // missing: added
        { jail: WEB.jail, ip: A2, timeoutSec: 600 }, // missing (set was recreated): added
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
    expect(await tcp(80, A2)).toBe('refused');
  });

  it('rejects unknown jails and invalid addresses without touching the kernel', async () => {
    const before = await list();
    await expect(srv.call('ban', { entries: [{ jail: 'nope', ip: A1, timeoutSec: 5 }] })).rejects.toMatchObject({ code: 'PC_JAIL_UNKNOWN' });
    await expect(
      srv.call('ban', { entries: [{ jail: 'sshd', ip: A5, timeoutSec: 5 }, { jail: 'sshd', ip: '300.1.1.1', timeoutSec: 5 }] }),
    ).rejects.toMatchObject({ code: 'PC_ADDRESS_INVALID' });
    await expect(srv.call('ban', { entries: [{ jail: 'sshd', ip: A5, timeoutSec: 0 }] })).rejects.toMatchObject({ code: 'PC_FIREWALL' });
    expect(await list()).toEqual(before);
  });

  it('bans 50,000 addresses in one call (one transaction) and re-bans them all', async () => {
    const first = await srv.call<{ ms: number }>('ban.generated', { jail: 'recidive', count: 50_000, timeoutSec: 3600 });
    const again = await srv.call<{ ms: number }>('ban.generated', { jail: 'recidive', count: 50_000, timeoutSec: 7200 });
    const all = await list('recidive');
    expect(all).toHaveLength(50_000);
    expect(Math.min(...all.map((e) => e.expiresSec ?? 0))).toBeGreaterThan(7100);
    expect(await tcp(22, A1)).toBe('timeout');
    expect(await tcp(22, A3)).toBe('connected');
    console.log(`[${transport}] ban 50,000 new: ${first.ms.toFixed(0)} ms; re-ban 50,000 existing: ${again.ms.toFixed(0)} ms`);
    expect(first.ms).toBeLessThan(10_000);
  });

  it('teardown removes only our table', async () => {
    await srv.call('teardown');
    const text = await srv.call<string>('nft.text');
    expect(text).not.toContain(`table inet ${TABLE}`);
    expect(text).toContain('table inet other');
    expect(await tcp(22, A1)).toBe('connected');
    expect(await list()).toEqual([]);
    await srv.call('teardown'); // a second teardown finds nothing and is fine
  });
});
