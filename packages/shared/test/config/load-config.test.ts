import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import type { JailConfig, PortcullisConfig } from '../../src/config/types.js';
import { tempTrees, thrown } from './temp-tree.js';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
const trees = tempTrees();
afterEach(() => trees.cleanup());

const jail = (config: PortcullisConfig, name: string): JailConfig => {
  const found = config.jails.find((j) => j.name === name);
  if (!found) throw new Error(`no jail ${name} in ${config.jails.map((j) => j.name).join(', ')}`);
  return found;
};

describe('loadConfig on a layered directory (jail.conf + jail.d + jail.local + portcullis.conf/.local)', () => {
  const dir = path.join(FIXTURES, 'layered');
  const config = loadConfig(dir, { hostName: 'unused-because-set' });

  it('lists every jail in file order, enabled or not', () => {
    expect(config.dir).toBe(dir);
    expect(config.jails.map((j) => [j.name, j.enabled])).toEqual([
      ['sshd', true],
      ['nginx-http-auth', true],
      ['recidive', false],
      ['custom-app', true],
    ]);
  });

  it('applies overrides from jail.d/*.conf, jail.local and jail.d/*.local, with known/ and [DEFAULT] inheritance', () => {
    const sshd = jail(config, 'sshd');
    expect(sshd).toMatchObject({
      port: 'ssh,2222', // jail.d/10-sshd.conf: %(known/port)s,2222
      logpath: ['/var/log/secure'], // paths.local overrides paths.conf
      maxretry: 3, // jail.local
      bantime: 3600, // jail.local [DEFAULT]
      findtime: 600,
      ignoreip: ['127.0.0.1/8', '::1', '192.0.2.0/24', '2001:db8::/32'],
      filter: { name: 'sshd', options: {} },
      backend: 'auto',
      protocol: 'tcp',
      banaction: 'nftables-multiport',
      ignoreself: true,
      fromStart: false,
      ref: { file: path.join(dir, 'jail.conf'), line: 15 },
    });
    expect(sshd.actions).toEqual([
      { name: 'nftables-multiport', options: { name: 'sshd', port: 'ssh,2222', protocol: 'tcp' } },
      { name: 'sendmail-whois', options: { name: 'sshd', dest: 'ops@example.org' } },
    ]);
    expect(sshd.options['failregex']).toBe('^Accepted for .* from <HOST>$\n^Refused <HOST>$\n^Invalid user .* from <HOST>$');
    expect(sshd.options['fail2ban_confpath']).toBe(dir);
    expect(sshd.configError).toBeUndefined();
    expect(jail(config, 'nginx-http-auth')).toMatchObject({ maxretry: 2, logpath: ['/var/log/nginx/*error.log'], port: 'http,https' });
  });

  it('reads %(banaction_allports)s and long durations', () => {
    expect(jail(config, 'recidive')).toMatchObject({
      banaction: 'nftables-allports',
      bantime: 7 * 86400,
      findtime: 86400,
      actions: [{ name: 'nftables-allports', options: { name: 'recidive', port: '0:65535', protocol: 'tcp' } }],
    });
  });

  it('converts every jail option form', () => {
    const app = jail(config, 'custom-app');
    expect(app).toMatchObject({
      filter: { name: 'custom-app', options: { mode: 'strict', prefix: 'a, b' } },
      logpath: ['/var/log/custom/*.log', '/var/log/custom-extra.log'],
      logpathStart: { '/var/log/custom/*.log': 'tail' },
      port: '8080,8443',
      protocol: 'tcp,udp',
      maxretry: 3,
      findtime: 5400,
      bantime: -1,
      fromStart: true,
      ignoreself: false,
      journalmatch: '_SYSTEMD_UNIT=custom.service + _COMM=custom',
    });
  });

  it('reads [portcullis] from portcullis.conf with portcullis.local winning', () => {
    expect(config.settings).toMatchObject({
      host: 'edge-1',
      natsUrl: 'nats://127.0.0.1:4222',
      redisUrl: 'redis://127.0.0.1:6379/0',
      firewall: 'nftables',
      nftTable: 'pc_test',
      otlpEndpoint: 'http://127.0.0.1:4318/v1/traces',
      logLevel: 'debug',
    });
    expect(config.settings.options?.['collector_host']).toBe('192.0.2.10');
  });

  it('returns a deeply frozen result', () => {
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.jails)).toBe(true);
    const sshd = jail(config, 'sshd');
    expect(Object.isFrozen(sshd.actions[0]?.options)).toBe(true);
    expect(() => {
      (sshd as { maxretry: number }).maxretry = 99;
    }).toThrow(TypeError);
    expect(() => (sshd.logpath as string[]).push('/x')).toThrow(TypeError);
  });
});

describe('loadConfig on a one-file jail.local', () => {
  it('fills every default, including the default action, and the settings defaults', () => {
    const config = loadConfig(path.join(FIXTURES, 'one-file'), { hostName: 'node-7' });
    expect(config.jails).toHaveLength(1);
    expect(jail(config, 'sshd')).toMatchObject({
      enabled: true,
      filter: { name: 'sshd', options: {} },
      logpath: ['/var/log/auth.log'],
      backend: 'auto',
      journalmatch: '',
      maxretry: 5,
      findtime: 600,
      bantime: 600,
      ignoreip: [],
      ignoreself: true,
      port: '0:65535',
      protocol: 'tcp',
      banaction: 'nftables-multiport',
      banactionAllports: 'nftables-allports',
      actions: [{ name: 'nftables-multiport', options: { name: 'sshd', port: '0:65535', protocol: 'tcp' } }],
      fromStart: false,
    });
    expect(config.settings).toEqual({
      host: 'node-7',
      natsUrl: '',
      redisUrl: '',
      firewall: 'nftables',
      nftTable: 'portcullis',
      otlpEndpoint: '',
      logLevel: 'info',
      options: {},
    });
  });

  it('uses the system host name when none is given', () => {
    expect(loadConfig(path.join(FIXTURES, 'one-file')).settings.host).toBe(os.hostname());
  });
});

/** Checks that hold for Debian's stock /etc/fail2ban and for our stock-like fixture alike. */
function expectStockLike(config: PortcullisConfig): void {
  expect(config.jails.length).toBeGreaterThan(10);
  const sshd = jail(config, 'sshd');
  expect(sshd.enabled).toBe(true); // jail.d/defaults-debian.conf
  expect(sshd.filter).toEqual({ name: 'sshd', options: { mode: 'normal' } }); // %(__name__)s[mode=%(mode)s]
  expect(sshd.port).toBe('ssh');
  expect(sshd.logpath.length).toBeGreaterThan(0);
  // action = %(action_)s with the chain tag left for the action engine
  expect(sshd.actions).toHaveLength(1);
  expect(sshd.actions[0]?.options).toMatchObject({ port: 'ssh', protocol: 'tcp', chain: '<known/chain>' });
  expect(sshd.options['fail2ban_agent']).toMatch(/^Fail2Ban\/\d/);
  // defined only for jails that need it (cfemail is undefined): left out, not an error
  expect(sshd.options['action_cf_mwl']).toBeUndefined();
  expect(sshd.options['action_mw']).toContain('-whois[');
  for (const j of config.jails) {
    expect(j.configError, `${j.name}: ${j.configError}`).toBeUndefined();
    expect(j.filter.name).not.toBe('');
    expect(j.actions.length).toBeGreaterThan(0);
  }
  const postfix = config.jails.find((j) => j.name === 'postfix');
  if (postfix) expect(postfix.filter.options).toEqual({ mode: 'more' });
  const recidive = jail(config, 'recidive');
  expect(recidive).toMatchObject({ bantime: 7 * 86400, findtime: 86400 });
  expect(recidive.actions[0]?.name).toBe(recidive.banactionAllports);
}

describe('loadConfig on a stock fail2ban layout', () => {
  it('loads the stock-like fixture (includes, paths-*.conf, jail.d, %(known/...)s, [DEFAULT] action shortcuts)', () => {
    const dir = path.join(FIXTURES, 'stock-like');
    const config = loadConfig(dir, { hostName: 'h' });
    expectStockLike(config);
    expect(jail(config, 'sshd').logpath).toEqual(['/var/log/auth.log']);
    expect(jail(config, 'php-url-fopen').logpath).toEqual(['/var/log/nginx/*access.log', '/var/log/apache2/*access.log']);
    expect(jail(config, 'named-refused').protocol).toBe('udp');
    expect(jail(config, 'postfix-rbl').filter).toEqual({ name: 'postfix', options: { mode: 'rbl' } });
  });

  it('loads the real /etc/fail2ban when it exists, else the stock-like fixture', () => {
    const real = '/etc/fail2ban';
    const dir = existsSync(path.join(real, 'jail.conf')) ? real : path.join(FIXTURES, 'stock-like');
    expectStockLike(loadConfig(dir, { hostName: 'h' }));
  });
});

describe('loadConfig errors', () => {
  it('reports a missing directory and a directory without jail files as PC_CONFIG_NOT_FOUND', () => {
    const missing = path.join(os.tmpdir(), 'pct-config-does-not-exist');
    const e = thrown(() => loadConfig(missing));
    expect(e.code).toBe('PC_CONFIG_NOT_FOUND');
    expect(e.message).toContain(missing);
    const empty = trees.make({ 'portcullis.conf': '[portcullis]\n' });
    const e2 = thrown(() => loadConfig(empty));
    expect(e2.code).toBe('PC_CONFIG_NOT_FOUND');
    expect(e2.message).toMatch(/no jail configuration/);
  });

  const ENABLED = '[sshd]\nenabled = true\nlogpath = /var/log/auth.log\n';
  it.each<[string, Record<string, string>, string, string, number, RegExp]>([
    ['a non-numeric maxretry', { 'jail.local': `${ENABLED}maxretry = abc\n` }, 'PC_CONFIG_INVALID', 'jail.local', 4, /^maxretry must be a positive integer, got "abc" \(jail \[sshd\]\)$/],
    ['a zero maxretry', { 'jail.local': `${ENABLED}maxretry = 0\n` }, 'PC_CONFIG_INVALID', 'jail.local', 4, /maxretry must be a positive integer, got "0"/],
    ['an unknown boolean', { 'jail.local': '[sshd]\nlogpath = /l\nenabled = maybe\n' }, 'PC_CONFIG_INVALID', 'jail.local', 3, /enabled must be true or false .*got "maybe"/],
    ['a bad findtime', { 'jail.local': `${ENABLED}findtime = 10 minutes ago\n` }, 'PC_CONFIG_INVALID', 'jail.local', 4, /findtime "10 minutes ago" is invalid/],
    ['a zero bantime', { 'jail.local': `${ENABLED}bantime = 0\n` }, 'PC_CONFIG_INVALID', 'jail.local', 4, /bantime must be longer than zero, or negative \(-1\)/],
    ['a bad IPv4 in ignoreip', { 'jail.local': `${ENABLED}ignoreip = 127.0.0.1 999.1.1.1\n` }, 'PC_CONFIG_INVALID', 'jail.local', 4, /ignoreip entry "999\.1\.1\.1" is not a valid IP address/],
    ['a prefix too long in ignoreip', { 'jail.local': `${ENABLED}ignoreip = 192.0.2.0/33\n` }, 'PC_CONFIG_INVALID', 'jail.local', 4, /prefix length above 32/],
    ['a non-contiguous netmask', { 'jail.local': `${ENABLED}ignoreip = 192.0.2.0/255.0.255.0\n` }, 'PC_CONFIG_INVALID', 'jail.local', 4, /contiguous netmask/],
    ['a port above 65535', { 'jail.local': `${ENABLED}port = 22,70000\n` }, 'PC_CONFIG_INVALID', 'jail.local', 4, /port "70000" is not a port number/],
    ['an unknown protocol', { 'jail.local': `${ENABLED}protocol = icmp\n` }, 'PC_CONFIG_INVALID', 'jail.local', 4, /protocol "icmp" is not one of tcp/],
    ['an unknown backend', { 'jail.local': `${ENABLED}backend = inotify\n` }, 'PC_CONFIG_INVALID', 'jail.local', 4, /backend "inotify" is not one of/],
    ['a relative logpath', { 'jail.local': '[sshd]\nenabled = true\nlogpath = auth.log\n' }, 'PC_CONFIG_INVALID', 'jail.local', 3, /logpath entry "auth\.log" is not an absolute path/],
    ['an enabled jail without logpath', { 'jail.local': '\n[sshd]\nenabled = true\n' }, 'PC_CONFIG_INVALID', 'jail.local', 2, /logpath is empty: set logpath = .* or backend = systemd/],
    ['a broken action', { 'jail.local': `${ENABLED}action = iptables[port]\n` }, 'PC_CONFIG_INVALID', 'jail.local', 4, /invalid action "iptables\[port\]"/],
    ['a filter without a name', { 'jail.local': `${ENABLED}filter = [mode=x]\n` }, 'PC_CONFIG_INVALID', 'jail.local', 4, /invalid filter/],
    ['an undefined reference', { 'jail.local': '[sshd]\nenabled = true\nlogpath = %(sshd_log)s\n' }, 'PC_CONFIG_INTERPOLATION', 'jail.local', 3, /%\(sshd_log\)s is not defined/],
    ['a syntax error in jail.d', { 'jail.local': ENABLED, 'jail.d/x.conf': '[sshd]\nport ssh\n' }, 'PC_CONFIG_PARSE', 'jail.d/x.conf', 2, /expected "key = value"/],
    ['an enabled jail with a space in its name', { 'jail.local': '\n[my jail]\nenabled = true\nlogpath = /l\n' }, 'PC_CONFIG_INVALID', 'jail.local', 2, /jail name \[my jail\] may contain only/],
    ['a bad firewall', { 'jail.local': ENABLED, 'portcullis.local': '[portcullis]\nfirewall = pf\n' }, 'PC_CONFIG_INVALID', 'portcullis.local', 2, /firewall must be nftables or iptables, got "pf"/],
    ['a bad log level', { 'jail.local': ENABLED, 'portcullis.conf': '[portcullis]\n\nlog_level = loud\n' }, 'PC_CONFIG_INVALID', 'portcullis.conf', 3, /log_level must be one of/],
    ['a nats_url that is not nats://', { 'jail.local': ENABLED, 'portcullis.conf': '[portcullis]\nnats_url = http://127.0.0.1:4222\n' }, 'PC_CONFIG_INVALID', 'portcullis.conf', 2, /nats_url "http:\/\/127\.0\.0\.1:4222" is not a valid URL/],
    ['a redis_url that is not a URL', { 'jail.local': ENABLED, 'portcullis.conf': '[portcullis]\nredis_url = 127.0.0.1:6379\n' }, 'PC_CONFIG_INVALID', 'portcullis.conf', 2, /redis_url .* expected redis:\/\/\.\.\., rediss:\/\/\.\.\./],
    ['a bad nft table name', { 'jail.local': ENABLED, 'portcullis.conf': '[portcullis]\nnft_table = my table\n' }, 'PC_CONFIG_INVALID', 'portcullis.conf', 2, /nft_table "my table" is not a valid nftables table name/],
    ['a bad host', { 'jail.local': ENABLED, 'portcullis.conf': '[portcullis]\nhost = a b\n' }, 'PC_CONFIG_INVALID', 'portcullis.conf', 2, /host "a b" is not a valid host name/],
  ])('rejects %s with code, file, line and reason', (_what, files, code, file, line, reason) => {
    const dir = trees.make(files);
    const e = thrown(() => loadConfig(dir, { hostName: 'h' }));
    expect(e.code).toBe(code);
    const expectedFile = path.join(dir, file);
    expect(e.location).toEqual({ file: expectedFile, line });
    const prefix = `${expectedFile}:${line}: `;
    expect(e.message.startsWith(prefix)).toBe(true);
    expect(e.message.slice(prefix.length)).toMatch(reason);
  });

  it('points at [DEFAULT] in jail.conf when the bad value is inherited, naming the jail', () => {
    const dir = trees.make({
      'jail.conf': '[DEFAULT]\nbantime = 10m\nmaxretry = five\n',
      'jail.local': ENABLED,
    });
    const e = thrown(() => loadConfig(dir, { hostName: 'h' }));
    expect(e.message).toBe(`${path.join(dir, 'jail.conf')}:3: maxretry must be a positive integer, got "five" (jail [sshd])`);
  });

  it('keeps a disabled jail with a bad value, with defaults and configError, as fail2ban ignores disabled jails', () => {
    const dir = trees.make({
      'jail.local': `${ENABLED}\n[old]\nenabled = false\nlogpath = /var/log/old.log\nmaxretry = lots\naction = %(undefined_action)s\n`,
    });
    const config = loadConfig(dir, { hostName: 'h' });
    const old = jail(config, 'old');
    expect(old).toMatchObject({ enabled: false, maxretry: 5, actions: [], logpath: ['/var/log/old.log'] });
    expect(old.configError).toBe(`${path.join(dir, 'jail.local')}:8: maxretry must be a positive integer, got "lots" (jail [old])`);
    expect(jail(config, 'sshd').configError).toBeUndefined();
  });

  it('accepts host names and addresses of every allowed form in ignoreip, separated by spaces, commas or new lines', () => {
    const dir = trees.make({
      'jail.local': `${ENABLED}ignoreip = 127.0.0.1/8, ::1 [2001:db8::1] 2001:db8::/48
           192.0.2.0/255.255.255.0 2001:db8:1::/ffff:ffff:: gateway.example.org localhost\n`,
    });
    expect(jail(loadConfig(dir, { hostName: 'h' }), 'sshd').ignoreip).toEqual([
      '127.0.0.1/8',
      '::1',
      '[2001:db8::1]',
      '2001:db8::/48',
      '192.0.2.0/255.255.255.0',
      '2001:db8:1::/ffff:ffff::',
      'gateway.example.org',
      'localhost',
    ]);
  });

  it('does not require logpath for a systemd jail', () => {
    const dir = trees.make({ 'jail.local': '[sshd]\nenabled = true\nbackend = systemd[journalflags=1]\njournalmatch = _SYSTEMD_UNIT=sshd.service\n' });
    expect(jail(loadConfig(dir, { hostName: 'h' }), 'sshd')).toMatchObject({ logpath: [], backend: 'systemd[journalflags=1]', journalmatch: '_SYSTEMD_UNIT=sshd.service' });
  });
});
