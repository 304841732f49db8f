import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, isPortcullisError, type PortcullisError } from '@portcullis/shared';
import { createTrustList, type TrustList, type TrustListOptions } from '../../src/trust/index.js';

const lists: TrustList[] = [];

afterEach(() => {
  for (const l of lists.splice(0)) l.stop();
});

async function trust(entries: string[], opts: Partial<TrustListOptions> = {}): Promise<TrustList> {
  const list = await createTrustList(entries, { ignoreself: false, clock: new ManualClock(Date.now()), ...opts });
  lists.push(list);
  return list;
}

async function codeOf(p: Promise<unknown>): Promise<string | null> {
  return p.then(
    () => null,
    (e: unknown) => (isPortcullisError(e) ? e.code : String(e)),
  );
}

function iface(address: string): NetworkInterfaceInfo {
  const v6 = address.includes(':');
  return v6
    ? { address, netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', mac: '00:00:00:00:00:00', internal: false, cidr: `${address}/64`, scopeid: 0 }
    : { address, netmask: '255.255.255.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal: false, cidr: `${address}/24` };
}

/** A resolver backed by a mutable table that counts its calls. */
function fakeDns(table: Record<string, string[]>) {
  const calls: string[] = [];
  const resolver = async (name: string): Promise<string[]> => {
    calls.push(name);
    const hit = table[name];
    if (!hit) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
    return hit;
  };
  return { table, calls, resolver };
}

describe('trust list: literal entries', () => {
  it('matches single addresses and IPv4/IPv6 CIDR ranges', async () => {
    const t = await trust(['192.0.2.0/24', '198.51.100.7', '2001:db8:1::/48', '2001:DB8::5', '203.0.113.0/255.255.255.128']);
    expect(t.isTrusted('192.0.2.0')).toBe(true);
    expect(t.isTrusted('192.0.2.255')).toBe(true);
    expect(t.isTrusted('192.0.3.0')).toBe(false);
    expect(t.isTrusted('198.51.100.7')).toBe(true);
    expect(t.isTrusted('198.51.100.8')).toBe(false);
    expect(t.isTrusted('2001:db8:1:ffff::1')).toBe(true);
    expect(t.isTrusted('2001:db8:2::1')).toBe(false);
    expect(t.isTrusted('2001:0db8:0:0::5')).toBe(true);
    expect(t.isTrusted('2001:db8::6')).toBe(false);
    expect(t.isTrusted('203.0.113.127')).toBe(true);
    expect(t.isTrusted('203.0.113.128')).toBe(false);
  });

  it('matches IPv4-mapped IPv6 against IPv4 entries and mapped entries against IPv4', async () => {
    const t = await trust(['203.0.113.0/24', '::ffff:198.51.100.9', '::ffff:192.0.2.0/120']);
    expect(t.isTrusted('::ffff:203.0.113.9')).toBe(true);
    expect(t.isTrusted('::FFFF:CB00:7109')).toBe(true);
    expect(t.isTrusted('::ffff:203.0.114.9')).toBe(false);
    expect(t.isTrusted('198.51.100.9')).toBe(true);
    expect(t.isTrusted('192.0.2.77')).toBe(true);
    expect(t.isTrusted('::ffff:192.0.2.77')).toBe(true);
    expect(t.isTrusted('192.0.3.77')).toBe(false);
  });

  it('trusts nothing with an empty list and rejects invalid addresses with PC_ADDRESS_INVALID', async () => {
    const t = await trust([]);
    expect(t.isTrusted('192.0.2.1')).toBe(false);
    expect(t.isTrusted('::1')).toBe(false);
    for (const bad of ['garbage', '300.1.1.1', '', 'fe80::1%eth0']) {
      let code: string | null = null;
      try {
        t.isTrusted(bad);
      } catch (e) {
        code = isPortcullisError(e) ? e.code : String(e);
      }
      expect(code).toBe('PC_ADDRESS_INVALID');
    }
  });

  it('rejects entries that are neither address, range nor host name with PC_CONFIG_INVALID', async () => {
    for (const bad of ['192.0.2.0/33', 'not a host!', '10.0.0.0/255.0.255.0', '999.1.1.1', '2001:db8::g', 'host/24']) {
      expect(await codeOf(createTrustList([bad], { ignoreself: false, clock: new ManualClock() }))).toBe('PC_CONFIG_INVALID');
    }
  });
});

describe('trust list: host names', () => {
  it('resolves host names at start with the injected resolver', async () => {
    const dns = fakeDns({ 'gw.example.test': ['192.0.2.33', '2001:DB8::33', '::ffff:198.51.100.33'] });
    const t = await trust(['gw.example.test', 'GW2.Example.Test.'], { resolver: dns.resolver });
    expect(t.isTrusted('192.0.2.33')).toBe(true);
    expect(t.isTrusted('2001:db8::33')).toBe(true);
    expect(t.isTrusted('198.51.100.33')).toBe(true);
    expect(t.isTrusted('192.0.2.34')).toBe(false);
    expect(dns.calls.sort()).toEqual(['gw.example.test', 'gw2.example.test']);
    expect(t.hosts().get('gw.example.test')).toEqual({ addresses: ['192.0.2.33', '2001:db8::33', '198.51.100.33'] });
    expect(t.hosts().get('gw2.example.test')?.error).toContain('ENOTFOUND');
  });

  it('re-resolves when the clock says the last resolution is stale, keeping addresses through DNS failures', async () => {
    const clock = new ManualClock(Date.now());
    const dns = fakeDns({ 'gw.example.test': ['192.0.2.33'] });
    const errors: PortcullisError[] = [];
    const t = await trust(['gw.example.test'], { resolver: dns.resolver, clock, reresolveMs: 60_000, onError: (e) => errors.push(e) });
    dns.table['gw.example.test'] = ['192.0.2.44'];
    clock.advance(59_999);
    t.isTrusted('192.0.2.1');
    await t.refresh();
    // refresh() is explicit, so the new address is in; the clock check is about the automatic path
    expect(t.isTrusted('192.0.2.44')).toBe(true);
    expect(t.isTrusted('192.0.2.33')).toBe(false);

    dns.table['gw.example.test'] = ['192.0.2.55'];
    const before = dns.calls.length;
    clock.advance(30_000);
    t.isTrusted('192.0.2.1'); // not stale yet: no lookup
    expect(dns.calls.length).toBe(before);
    clock.advance(30_000);
    t.isTrusted('192.0.2.1'); // stale: starts a background refresh
    expect(dns.calls.length).toBe(before + 1);
    await t.refresh();
    expect(t.isTrusted('192.0.2.55')).toBe(true);

    delete dns.table['gw.example.test'];
    await t.refresh();
    expect(t.isTrusted('192.0.2.55')).toBe(true);
    expect(errors.map((e) => e.code)).toEqual(['PC_CONFIG_INVALID']);
    expect(errors[0]?.message).toContain('gw.example.test');
  });

  it('re-resolves periodically on a timer and stop() ends it', async () => {
    const dns = fakeDns({ 'gw.example.test': ['192.0.2.33'] });
    const t = await trust(['gw.example.test'], { resolver: dns.resolver, reresolveMs: 20 });
    dns.table['gw.example.test'] = ['192.0.2.66'];
    const deadline = Date.now() + 5_000;
    while (!t.isTrusted('192.0.2.66') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(t.isTrusted('192.0.2.66')).toBe(true);
    t.stop();
    await new Promise((r) => setTimeout(r, 30)); // let a lookup started just before stop() finish
    const after = dns.calls.length;
    await new Promise((r) => setTimeout(r, 150));
    expect(dns.calls.length).toBe(after);
  });

  it('uses dns.promises.lookup by default (localhost from /etc/hosts)', async () => {
    const t = await trust(['localhost']);
    const addrs = t.hosts().get('localhost')?.addresses ?? [];
    expect(addrs.length).toBeGreaterThan(0);
    for (const a of addrs) expect(t.isTrusted(a)).toBe(true);
    expect(addrs.some((a) => a === '127.0.0.1' || a === '::1')).toBe(true);
  });
});

describe('trust list: ignoreself', () => {
  it('trusts loopback and every address of the host interfaces', async () => {
    const t = await trust([], { ignoreself: true });
    for (const a of ['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1']) expect(t.isTrusted(a)).toBe(true);
    const own = Object.values(networkInterfaces()).flatMap((infos) => (infos ?? []).map((i) => i.address));
    expect(own.length).toBeGreaterThan(0);
    for (const a of own) expect(t.isTrusted(a)).toBe(true);
    expect(t.isTrusted('198.51.100.250')).toBe(false);

    const without = await trust([], { ignoreself: false });
    expect(without.isTrusted('127.0.0.1')).toBe(false);
    expect(without.isTrusted('::1')).toBe(false);
  });

  it('follows interface address changes on refresh', async () => {
    let current = { eth9: [iface('192.0.2.44'), iface('2001:db8::44')] };
    const t = await trust([], { ignoreself: true, interfaces: () => current });
    expect(t.isTrusted('192.0.2.44')).toBe(true);
    expect(t.isTrusted('2001:db8::44')).toBe(true);
    current = { eth9: [iface('192.0.2.45')] };
    await t.refresh();
    expect(t.isTrusted('192.0.2.45')).toBe(true);
    expect(t.isTrusted('192.0.2.44')).toBe(false);
    expect(t.isTrusted('2001:db8::44')).toBe(false);
    expect(t.isTrusted('127.0.0.1')).toBe(true);
  });
});

describe('trust list: ignorecommand and the dynamic list', () => {
  it('check() runs the ignorecommand only for addresses the lists do not trust, and reports its errors', async () => {
    const errors: PortcullisError[] = [];
    // trusts 198.51.100.0/24 by its own logic; exits 2 (an error) for 203.0.113.66
    const list = await trust(['192.0.2.0/24'], {
      ignorecommand: `case <ip> in 198.51.100.*) exit 0;; 203.0.113.66) exit 2;; *) exit 1;; esac`,
      onError: (e) => errors.push(e),
      dynamic: { isTrusted: (ip) => ip === '2001:db8::9' },
    });
    expect(await list.check('192.0.2.5')).toEqual({ trusted: true, by: 'ignoreip' });
    expect(await list.check('2001:db8::9')).toEqual({ trusted: true, by: 'dynamic' });
    expect(await list.check('198.51.100.4')).toEqual({ trusted: true, by: 'ignorecommand' });
    expect(await list.check('203.0.113.1')).toEqual({ trusted: false });
    expect(await list.check('203.0.113.66')).toEqual({ trusted: false });
    expect(errors.map((e) => e.message)).toEqual([expect.stringMatching(/exited with 2/)]);
    // the synchronous check covers ignoreip and the dynamic list, never runs a process
    expect([list.isTrusted('2001:db8::9'), list.isTrusted('198.51.100.4')]).toEqual([true, false]);
    expect(await codeOf(list.check('198.51.100.4; reboot'))).toBe('PC_ADDRESS_INVALID');
  });
});
