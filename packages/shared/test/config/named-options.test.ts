import { describe, expect, it } from 'vitest';
import { parseNamedOption, parseNamedOptionList, splitNamedOptions } from '../../src/config/named-options.js';
import { thrown } from './temp-tree.js';

describe('parseNamedOption', () => {
  it('reads a bare name', () => {
    expect(parseNamedOption('sshd')).toEqual({ name: 'sshd', options: {} });
  });

  it('reads unquoted, double- and single-quoted values, trimming them', () => {
    expect(parseNamedOption(`iptables[name=SSH, port="ssh, 2222", protocol='tcp',  chain=x ]`)).toEqual({
      name: 'iptables',
      options: { name: 'SSH', port: 'ssh, 2222', protocol: 'tcp', chain: 'x' },
    });
    expect(parseNamedOption('a.b-c_d[k.1=v, e-f="]"]')).toEqual({ name: 'a.b-c_d', options: { 'k.1': 'v', 'e-f': ']' } });
  });

  it('reads several option groups and a trailing comma', () => {
    expect(parseNamedOption('nftables[type=multiport][port="80,443", protocol=tcp,]')).toEqual({
      name: 'nftables',
      options: { type: 'multiport', port: '80,443', protocol: 'tcp' },
    });
  });

  it('keeps tags and spaces inside values as fail2ban does', () => {
    expect(parseNamedOption('x[chain="<known/chain>", a=1 b=2]').options).toEqual({ chain: '<known/chain>', a: '1 b=2' });
  });

  it.each([
    ['[port=ssh]', /name before "\[" is missing|expected name/],
    ['x[=1]', /expected key=value/],
    ['x[port]', /expected key=value/],
    ['x[a="1"b]', /unexpected "b" after option "a"/],
    ['x[chain = x]', /expected key=value at "chain = x"/],
  ])('rejects %j with file:line', (text, message) => {
    const e = thrown(() => parseNamedOption(text, { what: 'action', ref: { file: 'jail.local', line: 4 } }));
    expect(e.code).toBe('PC_CONFIG_INVALID');
    expect(e.location).toEqual({ file: 'jail.local', line: 4 });
    expect(e.message).toMatch(/^jail\.local:4: invalid action /);
    expect(e.message).toMatch(message);
  });
});

describe('splitNamedOptions / parseNamedOptionList', () => {
  it('gives one entry per line of a multi-line action, keeping brackets that span lines together', () => {
    const text = 'iptables-multiport[name=SSH, port="ssh", protocol="tcp"]\nsendmail-whois[name=SSH,\n  dest="root", sender="a@b"]\n\n  mail';
    expect(splitNamedOptions(text)).toEqual([
      'iptables-multiport[name=SSH, port="ssh", protocol="tcp"]',
      'sendmail-whois[name=SSH,\n  dest="root", sender="a@b"]',
      'mail',
    ]);
    expect(parseNamedOptionList(text)).toEqual([
      { name: 'iptables-multiport', options: { name: 'SSH', port: 'ssh', protocol: 'tcp' } },
      { name: 'sendmail-whois', options: { name: 'SSH', dest: 'root', sender: 'a@b' } },
      { name: 'mail', options: {} },
    ]);
  });

  it('splits several actions on one line at white space outside brackets', () => {
    expect(splitNamedOptions('a[x=1, y="2 3"] b')).toEqual(['a[x=1, y="2 3"]', 'b']);
  });

  it('keeps "[...] [...]" groups and quoted "]" together, and falls back to words when a bracket is not closed', () => {
    expect(splitNamedOptions("a [x=1] [y=2]\nb[x='1]2'] c[x=1]d e")).toEqual(['a [x=1] [y=2]', "b[x='1]2']", 'c[x=1]d', 'e']);
    expect(splitNamedOptions('x[a=1 b')).toEqual(['x[a=1', 'b']);
  });

  it('splits an unclosed bracket with many options in linear time (fail2ban\'s regex backtracks exponentially)', () => {
    const text = `act[${'x=1 '.repeat(2000)}`;
    const started = performance.now();
    const parts = splitNamedOptions(text);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(parts).toHaveLength(2000);
    expect(parts[0]).toBe('act[x=1');
    expect(() => parseNamedOptionList(text, { what: 'action' })).toThrow(/invalid action "act\[x=1"/);
  });

  it('gives nothing for an empty value', () => {
    expect(parseNamedOptionList('')).toEqual([]);
    expect(parseNamedOptionList(' \n ')).toEqual([]);
  });
});
