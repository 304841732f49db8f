import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPortcullisError, type JailConfig } from '@portcullis/shared';
import { classifyAction, planJailEnforcement } from '../../src/firewall/jail-enforcement.js';
import { builtinFirewallRegistry } from '../../src/firewall/registry.js';
import { configDir, jailsIn, SERVICES } from './command-helpers.js';

/** Which backend or command action a jail's `action =` list selects, and with what parameters. */

const MYACTION = `
[Definition]
actionban = echo "<ip>" >> <target>
[Init]
target = /dev/null
`;

const JAILS = `
[DEFAULT]
port = ssh
protocol = tcp

[a]
action = nftables-multiport[name=a, port="ssh", protocol=tcp]

[b]
action = iptables-allports[blocktype=DROP]

[c]
action = iptables-ipset-proto6[port="http,https", protocol="tcp"]

[d]
action = sendmail-whois[dest=root]
         mail

[e]
action = iptables-multiport[port=ssh]
         myaction[target=/tmp/e]

[f]
action = nosuch

[g]
action = pyonly

[h]
action = nftables-multiport
         iptables-multiport

[i]
action = iptables-multiport[name=i-tcp, port="domain", protocol=tcp]
         iptables-multiport[name=i-udp, port="domain", protocol=udp]

[j1]
action = iptables-multiport[chain=DOCKER-USER]

[j2]
chain = <known/chain>
action = iptables-multiport[chain="%(chain)s"]

[j3]
action = iptables-multiport[chain="bad chain!"]

[k]
action = nftables[type=allports]

[l]
banaction = iptables-multiport
action = %(banaction)s[port="http", protocol="tcp"]

[m]
action = myaction
         myaction

[n]
action = myaction[name=n-one]
         myaction[name=n-two]
         ufw
`;

describe('selecting backends and command actions from a jail (fail2ban semantics)', () => {
  let dir: string;
  let jails: Map<string, JailConfig>;
  const plan = (name: string, configDirOverride?: string) => planJailEnforcement(jails.get(name)!, { services: SERVICES, configDir: configDirOverride ?? dir });
  const failure = (name: string): { code?: string; message: string } => {
    try {
      plan(name);
    } catch (e) {
      return { code: isPortcullisError(e) ? e.code : undefined, message: (e as Error).message };
    }
    throw new Error(`jail ${name} planned without an error`);
  };

  beforeAll(() => {
    dir = configDir({ 'action.d/myaction.conf': MYACTION, 'action.d/pyonly.py': '# a python action\n', 'action.d/ufw.conf': '[Definition]\nactionban = ufw insert 1 deny from <ip>\n' }, () => JAILS);
    jails = new Map(jailsIn(dir).map((j) => [j.name, j]));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('classifies action names', () => {
    expect(classifyAction('nftables-multiport')).toEqual({ backend: 'nftables' });
    expect(classifyAction('nftables')).toEqual({ backend: 'nftables' });
    expect(classifyAction('iptables-ipset-proto6-allports')).toEqual({ backend: 'iptables' });
    expect(classifyAction('iptables')).toEqual({ backend: 'iptables' });
    expect(classifyAction('sendmail-whois-lines')).toBe('notify');
    expect(classifyAction('mail')).toBe('notify');
    expect(classifyAction('iptables-multiport-log')).toBeUndefined(); // logs too: run as the stock command action
    expect(classifyAction('hostsdeny')).toBeUndefined();
    expect(classifyAction('mailcow')).toBeUndefined();
  });

  it('nftables and iptables actions select their backend with the action\'s port, protocol, type and blocktype', () => {
    expect(plan('a')).toEqual({ jail: 'a', ports: [{ from: 22, to: 22 }], protocols: ['tcp'], verdict: 'reject', backend: 'nftables', commands: [] });
    expect(plan('b')).toEqual({ jail: 'b', ports: 'all', protocols: ['tcp'], verdict: 'drop', backend: 'iptables', commands: [] });
    expect(plan('c')).toMatchObject({ backend: 'iptables', ports: [{ from: 80, to: 80 }, { from: 443, to: 443 }] });
    expect(plan('k')).toMatchObject({ backend: 'nftables', ports: 'all' });
    expect(plan('l')).toMatchObject({ backend: 'iptables', ports: [{ from: 80, to: 80 }] });
  });

  it('skips mail actions (the notifier sends them): such a jail has no kernel enforcement', () => {
    expect(plan('d')).toMatchObject({ backend: null, commands: [] });
  });

  it('runs any other action.d file as a command action, next to the kernel one', () => {
    const e = plan('e');
    expect(e.backend).toBe('iptables');
    expect(e.commands!.map((c) => [c.file, c.name, c.properties.target, c.properties.actionban])).toEqual([['myaction', 'myaction', '/tmp/e', 'echo "<ip>" >> /tmp/e']]);
    const n = plan('n');
    expect(n.backend).toBeNull();
    expect(n.commands!.map((c) => c.name)).toEqual(['myaction-one', 'myaction-two', 'ufw']);
  });

  it('joins several kernel actions of one jail (fail2ban\'s tcp + udp pairs)', () => {
    expect(plan('i')).toMatchObject({ backend: 'iptables', ports: [{ from: 53, to: 53 }], protocols: ['tcp', 'udp'] });
  });

  it('passes the iptables chain option, ignoring jail.conf\'s <known/chain> tag', () => {
    expect(plan('j1').chain).toBe('DOCKER-USER');
    expect(plan('j2').chain).toBeUndefined();
    expect(failure('j3')).toMatchObject({ code: 'PC_CONFIG_INVALID', message: expect.stringMatching(/chain "bad chain!" is not an iptables chain name/) });
  });

  it('names the jail, the action and where it looked for an unknown action', () => {
    const f = failure('f');
    expect(f.code).toBe('PC_CONFIG_INVALID');
    expect(f.message).toContain('jail [f]: unknown action "nosuch"');
    expect(f.message).toContain(`${dir}/action.d/nosuch.conf`);
    expect(f.message).toMatch(/jail\.conf:\d+/);
    expect(failure('g').message).toContain('pyonly.py is a Python action, which Portcullis does not run');
    expect(failure('h')).toMatchObject({ code: 'PC_CONFIG_INVALID', message: expect.stringContaining('uses both nftables and iptables actions') });
    expect(failure('m')).toMatchObject({ code: 'PC_CONFIG_INVALID', message: expect.stringContaining('runs action "myaction" twice') });
  });

  it('reads stock actions from a fail2ban directory (hostsdeny with its inet6 variant)', () => {
    const jail = { ...jails.get('e')!, actions: [{ name: 'hostsdeny', options: { file: '/tmp/deny' } }] };
    const e = planJailEnforcement(jail, { services: SERVICES, configDir: '/etc/fail2ban' });
    expect(e.backend).toBeNull();
    expect(e.commands![0]!.properties).toMatchObject({ file: '/tmp/deny', ip_value: '<ip>', 'ip_value?family=inet6': '[<ip>]', daemon_list: 'ALL' });
    expect(e.commands![0]!.files).toEqual(['/etc/fail2ban/action.d/hostsdeny.conf']);
  });

  it('ships both kernel backends', () => {
    expect(builtinFirewallRegistry().names()).toEqual(['iptables', 'nftables']);
  });
});
