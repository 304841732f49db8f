import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isPortcullisError, loadConfig, type PortcullisError } from '@portcullis/shared';
import { defaultFlowmonConfig, loadFlowmonConfig } from '../src/config/flowmon-config.js';
import { parseServicePorts } from '../src/config/service-ports.js';
import { networkAddress, parseTrustEntry } from '../src/config/trust-entries.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function configDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'pct-flowmon-config-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

function loadError(files: Record<string, string>): PortcullisError {
  try {
    loadFlowmonConfig(loadConfig(configDir(files)));
  } catch (e) {
    if (isPortcullisError(e)) return e;
    throw e;
  }
  throw new Error('expected an error');
}

describe('[flowmon] configuration', () => {
  it('defaults to the documented service ports and thresholds when there is no [flowmon]', () => {
    const cfg = loadFlowmonConfig(loadConfig(configDir({ 'jail.local': '[sshd]\nenabled = false\n' })));
    expect(cfg.servicePorts.map((p) => `${p.port}/${p.proto}`)).toEqual([
      '80/tcp', '443/tcp', '8443/tcp', '8447/tcp', '22/tcp', '21/tcp', '25/tcp', '465/tcp', '587/tcp', '110/tcp', '995/tcp', '143/tcp', '993/tcp', '3306/tcp', '53/udp',
    ]);
    expect(cfg).toEqual(defaultFlowmonConfig());
    expect(cfg.tickMs).toBe(100);
    expect(cfg.table).toBe('portcullis_flow');
    expect(cfg.guardTable).toBe('portcullis_flow_guard');
  });

  it('reads every option from portcullis.conf and .local, later files winning', () => {
    const cfg = loadFlowmonConfig(
      loadConfig(configDir({
        'jail.local': '[DEFAULT]\nignoreip = 127.0.0.1/8 203.0.113.0/24\n[sshd]\nenabled = false\nlogpath = /var/log/auth.log\n[web]\nenabled = true\nfilter =\nlogpath = /var/log/web.log\nignoreip = 198.51.100.0/24\n',
        'portcullis.conf': '[flowmon]\ntick_ms = 50\nfloor_udp = 100\n',
        'portcullis.local': [
          '[flowmon]',
          'floor_udp = 3000',
          'service_ports = 80/tcp, 8080 53/udp',
          'http_ports = 80 8080',
          'ignoreip = 198.51.100.7 2001:db8::/48 gateway.example',
          'cooldown = 1m',
          'release = 1.5',
          'nft_table = flows',
          'mitigate = no',
          'ban_jail = recidive',
          'slowloris_min_age = 30s',
          '',
        ].join('\n'),
      })),
    );
    expect(cfg.tickMs).toBe(50);
    expect(cfg.floors.udp).toBe(3000);
    expect(cfg.servicePorts).toEqual([
      { port: 80, proto: 'tcp' },
      { port: 8080, proto: 'tcp' },
      { port: 53, proto: 'udp' },
    ]);
    expect(cfg.httpPorts).toEqual([80, 8080]);
    // [DEFAULT] ignoreip of the jails, every enabled jail's, then [flowmon]'s own.
    expect(cfg.ignoreip).toEqual(['127.0.0.1/8', '203.0.113.0/24', '198.51.100.0/24', '198.51.100.7', '2001:db8::/48', 'gateway.example']);
    expect(cfg.cooldownMs).toBe(60_000);
    expect(cfg.releaseMs).toBe(1500);
    expect(cfg.table).toBe('flows');
    expect(cfg.guardTable).toBe('flows_guard');
    expect(cfg.mitigate).toBe(false);
    expect(cfg.banJail).toBe('recidive');
    expect(cfg.slowlorisMinAgeMs).toBe(30_000);
  });

  it.each([
    ['tick_ms = 5', /portcullis\.local:3: tick_ms must be an integer from 20 to 1000, got "5"/],
    ['floor_udp = lots', /portcullis\.local:3: floor_udp must be a number/],
    ['service_ports = 80/sctp', /portcullis\.local:3: service_ports: "80\/sctp" is not a port/],
    ['service_ports = 70000/tcp', /portcullis\.local:3: service_ports: "70000\/tcp" is not a port/],
    ['ignoreip = 192.0.2.300', /portcullis\.local:3: ignoreip entry "192\.0\.2\.300" is not a valid IP address/],
    ['ignoreip = 192.0.2.0/33', /portcullis\.local:3: ignoreip entry "192\.0\.2\.0\/33" has "33" after/],
    ['cooldown = soon', /portcullis\.local:3: cooldown "soon" is invalid/],
    ['nft_table = 9bad', /portcullis\.local:3: nft_table "9bad" is not a valid table name/],
    ['mitigate = maybe', /portcullis\.local:3: mitigate must be true or false/],
    ['flor_udp = 5', /portcullis\.local:3: unknown option "flor_udp"; did you mean floor_udp/],
  ])('refuses %s with file and line', (line, message) => {
    const e = loadError({ 'jail.local': '[sshd]\nenabled = false\n', 'portcullis.local': `[portcullis]\n[flowmon]\n${line}\n` });
    expect(e.code).toBe('PC_CONFIG_INVALID');
    expect(e.message).toMatch(message);
    expect(e.location?.line).toBe(3);
  });

  it('refuses a bad [DEFAULT] ignoreip in the jail files, pointing there', () => {
    const e = loadError({ 'jail.local': '[DEFAULT]\nignoreip = not_an/address\n[sshd]\nenabled = false\n' });
    expect(e.message).toMatch(/jail\.local:2: ignoreip entry "not_an\/address"/);
  });

  it('refuses a sample interval shorter than the tick', () => {
    const e = loadError({ 'jail.local': '[sshd]\nenabled = false\n', 'portcullis.local': '[flowmon]\ntick_ms = 500\nsample_ms = 200\n' });
    expect(e.message).toMatch(/sample_ms \(200\) must not be shorter than tick_ms \(500\)/);
  });
});

describe('ports and trust entries', () => {
  it('reads ports with and without protocol and drops duplicates', () => {
    expect(parseServicePorts('80 80/tcp 53/UDP 53/udp')).toEqual([
      { port: 80, proto: 'tcp' },
      { port: 53, proto: 'udp' },
    ]);
  });

  it('normalises networks to their network address, as nftables needs', () => {
    expect(parseTrustEntry('192.0.2.77/24')).toEqual({ kind: 'net', family: 4, addr: '192.0.2.0', prefix: 24 });
    expect(parseTrustEntry('192.0.2.77/255.255.255.128')).toEqual({ kind: 'net', family: 4, addr: '192.0.2.0', prefix: 25 });
    expect(parseTrustEntry('[2001:db8::1]')).toEqual({ kind: 'net', family: 6, addr: '2001:db8::1', prefix: 128 });
    expect(parseTrustEntry('2001:db8:1:2::5/32')).toEqual({ kind: 'net', family: 6, addr: '2001:db8::', prefix: 32 });
    expect(parseTrustEntry('mail.example.org')).toEqual({ kind: 'host', name: 'mail.example.org' });
    expect(parseTrustEntry('192.0.2.0/255.0.255.0')).toMatch(/neither a prefix length/);
    expect(networkAddress('::ffff:192.0.2.9', 6, 120)).toBe('::ffff:c000:200');
  });
});
