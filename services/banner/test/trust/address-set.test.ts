import { BlockList } from 'node:net';
import { describe, expect, it } from 'vitest';
import { AddressSet } from '../../src/trust/address-set.js';
import { ipFamily, mappedIpv6, normalizeIp, parseCidr } from '../../src/trust/normalize-ip.js';

/** What the trust lists asked node:net's BlockList before AddressSet replaced it. */
function blockListOf(entries: readonly string[]): (ip: string) => boolean {
  const list = new BlockList();
  for (const e of entries) {
    if (e.includes('/')) {
      const c = parseCidr(e);
      list.addSubnet(c.address, c.prefix, c.family);
    } else {
      const ip = normalizeIp(e);
      list.addAddress(ip, ipFamily(ip));
    }
  }
  return (ip) => (ipFamily(ip) === 'ipv6' ? list.check(ip, 'ipv6') : list.check(ip, 'ipv4') || list.check(mappedIpv6(ip), 'ipv6'));
}

function addressSetOf(entries: readonly string[]): AddressSet {
  const set = new AddressSet();
  for (const e of entries) {
    if (e.includes('/')) {
      const c = parseCidr(e);
      set.addSubnet(c.address, c.prefix, c.family);
    } else set.addAddress(normalizeIp(e));
  }
  return set;
}

const ENTRIES = [
  '192.0.2.7',
  '198.51.100.0/24',
  '203.0.113.128/25',
  '10.0.0.0/8',
  '2001:db8::1',
  '2001:db8:1::/48',
  '2001:db8:2:3:4::/77',
  '::ffff:203.0.113.0/120',
  '::ffff:192.0.2.7',
];

const PROBES = [
  '192.0.2.7',
  '192.0.2.8',
  '198.51.100.0',
  '198.51.100.255',
  '198.51.101.1',
  '203.0.113.127',
  '203.0.113.128',
  '203.0.113.255',
  '10.255.255.255',
  '11.0.0.0',
  '0.0.0.0',
  '255.255.255.255',
  '2001:db8::1',
  '2001:db8::2',
  '2001:db8:1::',
  '2001:db8:1:ffff:ffff:ffff:ffff:ffff',
  '2001:db8:2::',
  '2001:db8:2:3:4:0:0:1',
  '2001:db8:2:3:4:7fff::',
  '2001:db8:2:3:4:8000::',
  '2001:db8:2:3:5::',
  '::1',
  '::',
];

describe('AddressSet', () => {
  it('answers as BlockList did for addresses, ranges of both families and IPv4 in mapped ranges', () => {
    const ours = addressSetOf(ENTRIES);
    const theirs = blockListOf(ENTRIES);
    for (const p of PROBES) {
      const ip = normalizeIp(p);
      expect(ours.has(ip), ip).toBe(theirs(ip));
    }
  });

  it('covers everything with /0 ranges and nothing when empty', () => {
    const all = addressSetOf(['0.0.0.0/0', '::/0']);
    const none = new AddressSet();
    for (const p of PROBES) {
      expect(all.has(normalizeIp(p))).toBe(true);
      expect(none.has(normalizeIp(p))).toBe(false);
    }
    expect(none.size).toBe(0);
  });

  it('agrees with BlockList on random addresses around random ranges', () => {
    let seed = 7;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const v4 = (): string => [rnd(256), rnd(256), rnd(256), rnd(256)].join('.');
    const v6 = (): string => ['2001', 'db8', ...Array.from({ length: 6 }, () => (rnd(4) === 0 ? '0' : rnd(65536).toString(16)))].join(':');
    const entries = [...Array.from({ length: 20 }, () => `${v4()}/${rnd(33)}`), ...Array.from({ length: 20 }, () => `${v6()}/${rnd(129)}`), '::ffff:0:0/97'];
    const ours = addressSetOf(entries);
    const theirs = blockListOf(entries);
    for (let i = 0; i < 5000; i++) {
      const ip = normalizeIp(i % 2 === 0 ? v4() : v6());
      expect(ours.has(ip), ip).toBe(theirs(ip));
    }
  });
});
