import { describe, expect, it } from 'vitest';
import { isPortcullisError, type JailConfig } from '@portcullis/shared';
import { normalizeAddress } from '../../src/firewall/addresses.js';
import { parseServices } from '../../src/firewall/etc-services.js';
import { enforcementForJail } from '../../src/firewall/jail-enforcement.js';
import { decodeJailName, encodeJailName, jailSetName, parseJailSetName } from '../../src/firewall/names.js';
import { mergeRanges, parsePortSpec, parseProtocolSpec } from '../../src/firewall/port-spec.js';
import { createFirewallRegistry, builtinFirewallRegistry } from '../../src/firewall/registry.js';
import { loadServiceTable } from '../../src/firewall/etc-services.js';

const SERVICES = parseServices(`
# comment line
ssh		22/tcp				# SSH Remote Login Protocol
http		80/tcp		www		# WorldWideWeb HTTP
https		443/tcp
https		443/udp
ftp-data	20/tcp
ftp		21/tcp
domain		53/tcp
domain		53/udp
odd		5000/udp
broken line
`);

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return isPortcullisError(e) ? e.code : 'not a PortcullisError';
  }
  return undefined;
}

describe('fail2ban port values', () => {
  const ref = { file: '/etc/portcullis/jail.local', line: 12 };

  it('parses single ports, service names, lists and ranges', () => {
    expect(parsePortSpec('ssh', SERVICES)).toEqual([{ from: 22, to: 22 }]);
    expect(parsePortSpec('22', SERVICES)).toEqual([{ from: 22, to: 22 }]);
    expect(parsePortSpec('http,https', SERVICES)).toEqual([
      { from: 80, to: 80 },
      { from: 443, to: 443 },
    ]);
    expect(parsePortSpec('1000:2000', SERVICES)).toEqual([{ from: 1000, to: 2000 }]);
    expect(parsePortSpec('1000-2000', SERVICES)).toEqual([{ from: 1000, to: 2000 }]);
    expect(parsePortSpec('ftp-data:ftp, www', SERVICES)).toEqual([
      { from: 20, to: 21 },
      { from: 80, to: 80 },
    ]);
  });

  it('treats 0:65535 and 1:65535 as all ports, and merges overlaps', () => {
    expect(parsePortSpec('0:65535', SERVICES)).toBe('all');
    expect(parsePortSpec('1:65535', SERVICES)).toBe('all');
    expect(parsePortSpec('1:100,50:65535', SERVICES)).toBe('all');
    expect(parsePortSpec('2:65535', SERVICES)).toEqual([{ from: 2, to: 65535 }]);
    expect(parsePortSpec('22,20:30,31,80', SERVICES)).toEqual([
      { from: 20, to: 31 },
      { from: 80, to: 80 },
    ]);
    expect(mergeRanges([{ from: 5, to: 5 }, { from: 5, to: 5 }])).toEqual([{ from: 5, to: 5 }]);
  });

  it('prefers the jail protocol when a service differs per protocol', () => {
    expect(parsePortSpec('odd', SERVICES, undefined, ['udp'])).toEqual([{ from: 5000, to: 5000 }]);
    expect(parsePortSpec('odd', SERVICES, undefined, ['tcp'])).toEqual([{ from: 5000, to: 5000 }]);
  });

  it('rejects bad values with PC_CONFIG_INVALID and the file:line', () => {
    expect(code(() => parsePortSpec('nosuchservice', SERVICES, ref))).toBe('PC_CONFIG_INVALID');
    expect(code(() => parsePortSpec('70000', SERVICES))).toBe('PC_CONFIG_INVALID');
    expect(code(() => parsePortSpec('2000:1000', SERVICES))).toBe('PC_CONFIG_INVALID');
    expect(code(() => parsePortSpec('1:2:3', SERVICES))).toBe('PC_CONFIG_INVALID');
    expect(code(() => parsePortSpec(' , ', SERVICES))).toBe('PC_CONFIG_INVALID');
    expect(() => parsePortSpec('nosuchservice', SERVICES, ref)).toThrow('/etc/portcullis/jail.local:12: unknown service name "nosuchservice"');
  });

  it('resolves names from the real /etc/services', () => {
    const services = loadServiceTable();
    expect(parsePortSpec('ssh,http,https,smtp', services)).toEqual([
      { from: 22, to: 22 },
      { from: 25, to: 25 },
      { from: 80, to: 80 },
      { from: 443, to: 443 },
    ]);
    expect(code(() => loadServiceTable('/nonexistent/services'))).toBe('PC_CONFIG_NOT_FOUND');
  });
});

describe('fail2ban protocol values', () => {
  it('parses single protocols, lists and all', () => {
    expect(parseProtocolSpec('tcp')).toEqual(['tcp']);
    expect(parseProtocolSpec('udp')).toEqual(['udp']);
    expect(parseProtocolSpec('TCP, udp,tcp')).toEqual(['tcp', 'udp']);
    expect(parseProtocolSpec('all')).toBe('all');
    expect(parseProtocolSpec('sctp udplite')).toEqual(['sctp', 'udplite']);
    expect(code(() => parseProtocolSpec('icmp'))).toBe('PC_CONFIG_INVALID');
    expect(code(() => parseProtocolSpec(''))).toBe('PC_CONFIG_INVALID');
  });
});

describe('jail names as nft set names', () => {
  it('keeps plain names readable and escapes the rest reversibly', () => {
    expect(jailSetName('sshd', 4)).toBe('sshd-v4');
    expect(jailSetName('nginx-http-auth', 6)).toBe('nginx-http-auth-v6');
    expect(encodeJailName('apache_auth')).toBe('apache_auth');
    expect(encodeJailName('a.b')).toBe('a.2eb');
    expect(encodeJailName('9lives')).toBe('.39lives');
    expect(encodeJailName('-x')).toBe('.2dx');
    expect(encodeJailName('ü')).toBe('.c3.bc');
  });

  it('is collision-free: every name decodes back to itself', () => {
    const names = ['a.b', 'a_b', 'a-b', 'a b', 'a.2eb', 'a/b', 'A.B', '9', '.39', 'x-v4', 'ü', 'u', 'sshd', 'sshd-v4'];
    const encoded = names.map(encodeJailName);
    expect(new Set(encoded).size).toBe(names.length);
    for (const n of names) {
      expect(encodeJailName(n)).toMatch(/^[A-Za-z_.][A-Za-z0-9_.-]*$/);
      expect(decodeJailName(encodeJailName(n))).toBe(n);
      expect(parseJailSetName(jailSetName(n, 6))).toEqual({ jail: n, family: 6 });
    }
    expect(parseJailSetName('other')).toBeUndefined();
    expect(parseJailSetName('a.zz-v4')).toBeUndefined();
    expect(parseJailSetName('a.2Eb-v4')).toBeUndefined(); // not canonical (upper-case hex)
  });

  it('rejects names that cannot fit', () => {
    expect(code(() => jailSetName('x'.repeat(300), 4))).toBe('PC_CONFIG_INVALID');
    expect(code(() => encodeJailName(''))).toBe('PC_CONFIG_INVALID');
  });
});

describe('addresses', () => {
  it('canonicalises like nft prints them and unwraps IPv4-mapped IPv6', () => {
    expect(normalizeAddress('192.0.2.1')).toEqual({ family: 4, address: '192.0.2.1' });
    expect(normalizeAddress('2001:DB8:0:0::1')).toEqual({ family: 6, address: '2001:db8::1' });
    expect(normalizeAddress('::ffff:192.0.2.7')).toEqual({ family: 4, address: '192.0.2.7' });
    for (const bad of ['300.1.1.1', '192.0.2.0/24', 'example.com', '', '2001:db8::1::2']) {
      expect(code(() => normalizeAddress(bad))).toBe('PC_ADDRESS_INVALID');
    }
  });
});

describe('firewall registry', () => {
  it('knows nftables and names the known backends for an unknown one', () => {
    const registry = builtinFirewallRegistry();
    expect(registry.names()).toContain('nftables');
    expect(() => registry.get('pf')).toThrow(/unknown firewall backend "pf" \(known: iptables, nftables\)/);
    expect(code(() => registry.get('pf'))).toBe('PC_FIREWALL_UNAVAILABLE');
  });

  it('registers new backends and refuses duplicates', async () => {
    const registry = createFirewallRegistry();
    expect(() => registry.get('x')).toThrow(/known: none/);
    const made: string[] = [];
    registry.register('x', async (opts) => {
      made.push(opts.table);
      throw new Error('not a real backend');
    });
    expect(registry.names()).toEqual(['x']);
    expect(code(() => registry.register('x', registry.get('x')))).toBe('PC_INTERNAL');
    await expect(registry.create('x', { table: 't', log: undefined as never })).rejects.toThrow('not a real backend');
    expect(made).toEqual(['t']);
  });
});

describe('enforcement read from a jail', () => {
  const jail = (over: Partial<JailConfig>): JailConfig => ({
    name: 'sshd',
    enabled: true,
    filter: { name: 'sshd', options: {} },
    logpath: [],
    backend: 'auto',
    journalmatch: '',
    maxretry: 5,
    findtime: 600,
    bantime: 600,
    ignoreip: [],
    ignoreself: true,
    port: 'ssh',
    protocol: 'tcp',
    banaction: 'nftables-multiport',
    banactionAllports: 'nftables-allports',
    actions: [{ name: 'nftables-multiport', options: { port: 'ssh', protocol: 'tcp' } }],
    fromStart: false,
    options: {},
    ref: { file: 'jail.local', line: 1 },
    ...over,
  });

  it('uses the banning action options, allports actions and blocktype', () => {
    expect(enforcementForJail(jail({}), SERVICES)).toEqual({ jail: 'sshd', ports: [{ from: 22, to: 22 }], protocols: ['tcp'], verdict: 'reject' });
    expect(
      enforcementForJail(jail({ actions: [{ name: 'nftables', options: { type: 'allports', protocol: 'all' } }], options: { blocktype: 'drop' } }), SERVICES),
    ).toEqual({ jail: 'sshd', ports: 'all', protocols: 'all', verdict: 'drop' });
    expect(
      enforcementForJail(jail({ actions: [{ name: 'sendmail-whois', options: {} }], port: 'http,https', protocol: 'tcp,udp' }), SERVICES),
    ).toEqual({ jail: 'sshd', ports: [{ from: 80, to: 80 }, { from: 443, to: 443 }], protocols: ['tcp', 'udp'], verdict: 'reject' });
    expect(
      enforcementForJail(jail({ actions: [{ name: 'iptables-allports', options: { blocktype: 'DROP' } }] }), SERVICES),
    ).toMatchObject({ ports: 'all', verdict: 'drop' });
  });
});
