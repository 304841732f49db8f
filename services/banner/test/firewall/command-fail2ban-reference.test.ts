import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, parseBool, type PortcullisConfig } from '@portcullis/shared';
import { loadCommandAction, type CommandActionDefinition } from '../../src/firewall/command/action-definition.js';
import { checkCommandAction } from '../../src/firewall/command/command-action.js';
import { replaceStaticTags } from '../../src/firewall/command/tags.js';

/**
 * fail2ban itself is the reference: every stock action.d file of Debian's fail2ban 1.0.2 (and a
 * few tricky ones of ours) is read by fail2ban (test/firewall/fail2ban-reference.py) and by
 * Portcullis from the same directory; the properties and the commands after tag substitution
 * must be the same, for no family, inet4 and inet6.
 */

const STOCK = '/etc/fail2ban/action.d';
const REFERENCE = fileURLToPath(new URL('./fail2ban-reference.py', import.meta.url));

interface Reference {
  jail: string;
  action: string;
  properties: [string, string | boolean | number][];
  commands: Record<string, Record<'none' | 'inet4' | 'inet6', string>>;
}

/** Our own actions with the constructs the stock files use most cleverly. */
const TRICKY: Record<string, string> = {
  'pc-tricky-base.conf': `
[DEFAULT]
shared = from-default-<name>

[Definition]
_helper = helper(<port>)
pick = <pick_<mode>>
pick_a = picked-a
pick_b = picked-b
`,
  'pc-tricky.conf': `
[INCLUDES]
before = pc-tricky-base.conf

[Definition]
actionstart = start <name> <actname> %(shared)s <_helper>
actionban = ban <ip> via <tool> <blocktype> on <port>/<protocol> <pick> <known/port> %(_percent)s<br>next<sp>line
actionunban = unban <ip> <tool> <F-USER> <matches>
actionstop = stop <ipt_<kind>/_rule>
_percent = 100%%

[ipt_one]
_rule = one-rule <port>

[ipt_many]
_rule = many-rule <port>

[Init]
tool = iptables <opt>
opt = -w
blocktype = REJECT
port = ssh
protocol = tcp
mode = a
kind = one

[Init?family=inet6]
tool = ip6tables <opt>
blocktype = REJECT6
`,
};

const SKIP = /(-common|^helpers-common)$/;

describe('command actions read as fail2ban reads them (fail2ban 1.0.2 as the reference)', () => {
  let dir: string;
  let reference: Reference[];
  let config: PortcullisConfig;

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'pc-f2bref-'));
    cpSync(STOCK, path.join(dir, 'action.d'), { recursive: true });
    writeFileSync(path.join(dir, 'fail2ban.conf'), '[Definition]\nloglevel = INFO\nlogtarget = STDERR\n');
    for (const [name, text] of Object.entries(TRICKY)) writeFileSync(path.join(dir, 'action.d', name), text);
    const names = readdirSync(path.join(dir, 'action.d'))
      .filter((f) => f.endsWith('.conf'))
      .map((f) => f.slice(0, -'.conf'.length))
      .filter((n) => !SKIP.test(n) && n !== 'pc-tricky-base');
    const jails = names.map((n) => `[j-${n}]\naction = ${n}[port="22,80", protocol=tcp]\n`);
    // The same action twice with another name (actname), with arguments that override [Init].
    jails.push('[j-args]\naction = pc-tricky[name=j-args-x, port=443, mode=b, kind=many]\n         pc-tricky[name=other, opt=--wait]\n         hostsdeny[file=/tmp/deny, daemon_list=sshd]\n');
    writeFileSync(
      path.join(dir, 'jail.conf'),
      `[DEFAULT]\nenabled = true\nfilter =\nlogpath = /dev/null\nport = 0:65535\nprotocol = tcp\nchain = <known/chain>\nbantime = 600\n\n${jails.join('\n')}`,
    );
    const out = execFileSync('/usr/bin/python3', [REFERENCE, dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    reference = JSON.parse(out) as Reference[];
    config = loadConfig(dir, { hostName: 'testhost' });
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const ours = (jailName: string, index: number): CommandActionDefinition => {
    const jail = config.jails.find((j) => j.name === jailName)!;
    return loadCommandAction(dir, jail, jail.actions[index]!);
  };

  it('reads every stock action fail2ban reads', () => {
    expect(reference.length).toBeGreaterThan(60);
    const stock = new Set(reference.map((r) => r.action));
    for (const n of ['dummy', 'hostsdeny', 'iptables-multiport', 'nftables-allports', 'sendmail-whois-lines', 'firewallcmd-ipset', 'abuseipdb', 'cloudflare']) {
      expect(stock).toContain(n);
    }
  });

  it('gives each action the same properties: operations, [Init] values, arguments, name and actname', () => {
    const seen = new Map<string, number>();
    let compared = 0;
    for (const ref of reference) {
      const index = seen.get(ref.jail) ?? 0;
      seen.set(ref.jail, index + 1);
      const def = ours(ref.jail, index);
      expect(def.name, `${ref.jail}`).toBe(ref.action);
      for (const [key, value] of ref.properties) {
        const mine = def.properties[key];
        if (typeof value === 'boolean') expect(parseBool(key, mine ?? ''), `${ref.jail} ${ref.action} ${key}`).toBe(value);
        else expect(mine, `${ref.jail} ${ref.action} ${key}`).toBe(String(value));
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(500);
  });

  it('substitutes the configuration tags of every command the same way, per family', () => {
    const seen = new Map<string, number>();
    const extra = new Map([
      ['br', '\n'],
      ['sp', ' '],
      ['fq-hostname', 'testhost.example'],
      ['sh-hostname', 'testhost'],
    ]);
    let compared = 0;
    for (const ref of reference) {
      const index = seen.get(ref.jail) ?? 0;
      seen.set(ref.jail, index + 1);
      const props = new Map(Object.entries(ours(ref.jail, index).properties));
      for (const [op, byFamily] of Object.entries(ref.commands)) {
        for (const [fam, expected] of Object.entries(byFamily)) {
          const cond = fam === 'none' ? '' : `family=${fam}`;
          expect(replaceStaticTags(props.get(op) ?? '', props, cond, extra), `${ref.jail} ${ref.action} ${op} ${fam}`).toBe(expected);
          compared++;
        }
      }
    }
    expect(compared).toBeGreaterThan(400);
  });

  it('can run every stock command safely: each one parses, per family, with its ban-time tags placed', () => {
    const seen = new Map<string, number>();
    for (const ref of reference) {
      const index = seen.get(ref.jail) ?? 0;
      seen.set(ref.jail, index + 1);
      expect(() => checkCommandAction(ours(ref.jail, index)), `${ref.jail} ${ref.action}`).not.toThrow();
    }
  });

  it('resolves the tricky constructs to what we expect (the reference agrees, see above)', () => {
    const args = config.jails.find((j) => j.name === 'j-args')!;
    const a = loadCommandAction(dir, args, args.actions[0]!);
    const b = loadCommandAction(dir, args, args.actions[1]!);
    expect([a.name, b.name]).toEqual(['pc-tricky-x', 'pc-tricky-other']);
    const props = new Map(Object.entries(a.properties));
    const extra = new Map([['br', '\n'], ['sp', ' ']]);
    expect(replaceStaticTags(props.get('actionban')!, props, 'family=inet6', extra)).toBe(
      'ban <ip> via ip6tables -w REJECT6 on 443/tcp picked-b ssh 100%\nnext line',
    );
    expect(replaceStaticTags(props.get('actionstart')!, props, 'family=inet4', extra)).toBe('start j-args-x pc-tricky-x from-default-j-args-x helper(443)');
    expect(replaceStaticTags(props.get('actionstop')!, props, '', extra)).toBe('stop many-rule 443');
    const other = new Map(Object.entries(b.properties));
    expect(replaceStaticTags(other.get('actionunban')!, other, 'family=inet4', extra)).toBe('unban <ip> iptables --wait <F-USER> <matches>');
  });
});
