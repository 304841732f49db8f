import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BannedAddress, JailEnforcement } from '../../src/firewall/backend.js';
import { useNetnsScope, type Netns } from '../../../../tests/harness/index.js';
import { configDir, enforcementsIn } from './command-helpers.js';
import { Agent, ATTACKERS_V4, createFirewallPair, SERVER_V4 } from './netns-agent.js';
import { ScriptAgent } from './script-agent.js';

/**
 * A jail's whole action list on a real kernel: nftables (the configured backend) for one jail,
 * iptables for another, command actions next to them and alone, all in one banner process inside
 * the server namespace.
 */

const DRIVER = new URL('./iptables-driver.ts', import.meta.url);
const LOGGER = `
[Definition]
actionstart = echo "start <name>" >> <target>
actionstop = echo "stop <name>" >> <target>
actionban = echo "+<ip> <bantime>" >> <target>
actionunban = echo "-<ip>" >> <target>
[Init]
target = /dev/null
`;
const [A1, A2, A3, A4] = ATTACKERS_V4;

describe('jail actions: kernel backends and command actions together (real kernel, netns)', () => {
  const scope = useNetnsScope();
  let dir: string;
  let jails: JailEnforcement[];
  let server: Netns;
  let srv: Agent;
  let atk: Agent;
  let fw: ScriptAgent;

  const tcp = (port: number, from: string, timeoutMs = 600): Promise<string> => atk.call('tcp.connect', { host: SERVER_V4, port, from, timeoutMs });
  const log = (name: string): string[] => readFileSync(path.join(dir, name), 'utf8').trim().split('\n');
  const list = async (): Promise<string[]> => (await fw.call<BannedAddress[]>('list')).map((e) => `${e.jail} ${e.ip}`).sort();
  const create = (): Promise<unknown> => fw.call('jailActions.create', { main: 'nftables', table: 'portcullis', stateDir: path.join(dir, 'state') });

  beforeAll(async () => {
    dir = configDir(
      { 'action.d/logger.conf': LOGGER },
      (d) => `
[sshd]
action = nftables-multiport[port=ssh, protocol=tcp, blocktype=drop]
         logger[target="${d}/sshd.log"]

[web]
action = iptables-multiport[port=http, protocol=tcp]

[watch]
action = logger[target="${d}/watch.log"]
         sendmail-whois[dest=root]
`,
    );
    jails = enforcementsIn(dir);
    const pair = await createFirewallPair(scope);
    server = pair.server;
    srv = Agent.start(pair.server);
    atk = Agent.start(pair.attacker);
    fw = ScriptAgent.start(pair.server, DRIVER);
    for (const port of [22, 80]) await srv.call('tcp.listen', { host: SERVER_V4, port });
  });

  afterAll(async () => {
    await fw?.stop();
    await srv?.stop();
    await atk?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('selects nftables, iptables and command actions per jail', () => {
    expect(jails.map((j) => [j.jail, j.backend, j.commands?.map((c) => c.name)])).toEqual([
      ['sshd', 'nftables', ['logger']],
      ['web', 'iptables', []],
      ['watch', null, ['logger']],
    ]);
  });

  it('sets up each kernel backend with its own jails and starts the command actions', async () => {
    await create();
    await fw.call('setup', { jails });
    const nft = (await server.exec('nft', ['list', 'ruleset'])).stdout;
    expect(nft).toContain('set sshd-v4');
    expect(nft).not.toContain('web-v4');
    expect(nft).not.toContain('watch-v4');
    const ipt = (await server.exec('iptables', ['-L', '-n'])).stdout;
    expect(ipt).toContain('Chain f2b-web');
    expect(ipt).not.toContain('f2b-sshd');
    expect(log('sshd.log')).toEqual(['start sshd']);
    expect(log('watch.log')).toEqual(['start watch']);
  });

  it('bans in the right place: nftables drop, iptables reject, command actions run alongside', async () => {
    await fw.call('ban', {
      entries: [
        { jail: 'sshd', ip: A1, timeoutSec: 600 },
        { jail: 'web', ip: A2, timeoutSec: 600 },
        { jail: 'watch', ip: A3, timeoutSec: 600 },
      ],
    });
    expect(await tcp(22, A1)).toBe('timeout');
    expect(await tcp(80, A1)).toBe('connected');
    expect(await tcp(80, A2)).toBe('refused');
    expect(await tcp(22, A2)).toBe('connected');
    expect(await tcp(22, A3)).toBe('connected'); // watch has no kernel enforcement
    expect(await tcp(80, A3)).toBe('connected');
    expect(log('sshd.log')).toEqual(['start sshd', `+${A1} 600`]);
    expect(log('watch.log')).toEqual(['start watch', `+${A3} 600`]);
    expect(await list()).toEqual([`sshd ${A1}`, `watch ${A3}`, `web ${A2}`]);
  });

  it('after a restart, reconcile touches only what differs, in the kernel and in the command actions', async () => {
    await fw.call('close');
    await create();
    await fw.call('setup', { jails });
    await fw.call('reconcile', {
      desired: [
        { jail: 'sshd', ip: A1, timeoutSec: 600 }, // held everywhere: nothing runs
        { jail: 'sshd', ip: A4, timeoutSec: 600 }, // new: nftables + logger (restored)
        { jail: 'web', ip: A2, timeoutSec: 600 },
        // watch A3 is no longer desired: the logger unbans it
      ],
    });
    expect(log('sshd.log')).toEqual(['start sshd', `+${A1} 600`, 'start sshd', `+${A4} 600`]);
    expect(log('watch.log')).toEqual(['start watch', `+${A3} 600`, 'start watch', `-${A3}`]);
    expect(await tcp(22, A4)).toBe('timeout');
    expect(await list()).toEqual([`sshd ${A1}`, `sshd ${A4}`, `web ${A2}`]);
  });

  it('unbans everywhere, and teardown removes the table, the chains and stops the command actions', async () => {
    await fw.call('unban', { entries: [{ jail: 'sshd', ip: A1 }, { jail: 'web', ip: A2 }] });
    expect(await tcp(22, A1)).toBe('connected');
    expect(await tcp(80, A2)).toBe('connected');
    expect(log('sshd.log').at(-1)).toBe(`-${A1}`);
    await fw.call('teardown');
    expect((await server.exec('nft', ['list', 'ruleset'])).stdout).not.toContain('portcullis');
    expect((await server.exec('iptables', ['-S'])).stdout).not.toContain('f2b-');
    expect(log('sshd.log').slice(-2)).toEqual([`-${A4}`, 'stop sshd']);
    expect(log('watch.log').at(-1)).toBe('stop watch');
    expect(await tcp(22, A4)).toBe('connected');
  });
});
