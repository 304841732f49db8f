import { describe, expect, it } from 'vitest';
import { isPortcullisError } from '@portcullis/shared';
import { normalizeIp, parseCidr } from '../../src/trust/index.js';

function codeOf(fn: () => unknown): string | null {
  try {
    fn();
    return null;
  } catch (e) {
    return isPortcullisError(e) ? e.code : String(e);
  }
}

describe('normalizeIp', () => {
  it.each([
    ['192.0.2.1', '192.0.2.1'],
    [' 198.51.100.7\n', '198.51.100.7'],
    ['2001:DB8::0:1', '2001:db8::1'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['[2001:db8::1]', '2001:db8::1'],
    // RFC 5952: the longest zero run is compressed, the first one on a tie
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['::', '::'],
    ['::ffff:192.0.2.1', '192.0.2.1'],
    ['::FFFF:C000:0201', '192.0.2.1'],
    ['0:0:0:0:0:ffff:cb00:7109', '203.0.113.9'],
    // not mapped: stays IPv6
    ['::192.0.2.1', '::c000:201'],
    ['64:ff9b::192.0.2.1', '64:ff9b::c000:201'],
  ])('%j -> %s', (input, expected) => {
    expect(normalizeIp(input)).toBe(expected);
  });

  it.each(['', ' ', '256.1.1.1', '01.2.3.4', '1.2.3', '1.2.3.4.5', 'fe80::1%eth0', 'example.com', '2001:db8::g', '1::2::3', '192.0.2.0/24', '[::1'])(
    'rejects %j with PC_ADDRESS_INVALID',
    (input) => {
      expect(codeOf(() => normalizeIp(input))).toBe('PC_ADDRESS_INVALID');
    },
  );

  it('rejects non-strings with PC_ADDRESS_INVALID', () => {
    expect(codeOf(() => normalizeIp(42 as unknown as string))).toBe('PC_ADDRESS_INVALID');
    expect(codeOf(() => normalizeIp(undefined as unknown as string))).toBe('PC_ADDRESS_INVALID');
  });
});

describe('parseCidr', () => {
  it('reads prefixes and IPv4 netmasks', () => {
    expect(parseCidr('192.0.2.0/24')).toEqual({ address: '192.0.2.0', prefix: 24, family: 'ipv4' });
    expect(parseCidr('2001:DB8:1::/48')).toEqual({ address: '2001:db8:1::', prefix: 48, family: 'ipv6' });
    expect(parseCidr('203.0.113.0/255.255.255.128')).toEqual({ address: '203.0.113.0', prefix: 25, family: 'ipv4' });
    expect(parseCidr('0.0.0.0/0.0.0.0').prefix).toBe(0);
  });

  it.each(['192.0.2.0/33', '2001:db8::/129', '192.0.2.0/', '192.0.2.0/x', '192.0.2.0/255.0.255.0', 'host/24', '/24', '192.0.2.0'])(
    'rejects %j with PC_ADDRESS_INVALID',
    (input) => {
      expect(codeOf(() => parseCidr(input))).toBe('PC_ADDRESS_INVALID');
    },
  );
});
