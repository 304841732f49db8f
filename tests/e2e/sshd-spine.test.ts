/**
 * The spine, end to end, on a real kernel: `portcullis up` runs in a "server" namespace with its own
 * nats-server and redis-server, watching a log file with an sshd jail; an "attacker" namespace
 * connects over a veth link. Lines appended to the log must lead to the attacker's packets being
 * dropped by nftables, and CLI unban / bantime expiry must let it back in.
 */
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRuntimeInfo } from '@portcullis/shared';
import { useNetnsScope, type Netns } from '../harness/index.js';
import { sshdFailure, StackProcess, waitFor } from './stack-process.js';

const SERVER = '192.0.2.1';
const ATTACKER = '192.0.2.2';
const TRUSTED = '192.0.2.3';

const scope = useNetnsScope();
let srv: Netns;
let atk: Netns;
let dir: string;
let stack: StackProcess;
let authLog: string;
let fastLog: string;

async function kernelSet(jail: string): Promise<string> {
  const r = await srv.exec('nft', ['list', 'set', 'inet', 'portcullis', `${jail}-v4`]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

async function statusJson(jail: string): Promise<{ currentlyBanned: number; totalFailed: number; failedIps: string[]; bans: { ip: string }[] }> {
  const r = await stack.cli(['status', jail, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

beforeAll(async () => {
  const pair = await scope.createPair();
  srv = pair.a;
  atk = pair.b;
  // The trusted address lives on the attacker's side of the same link.
  const ifname = (await atk.exec('ip', ['-o', '-4', 'addr', 'show'])).stdout.match(/^\d+:\s+(\S+)\s+inet 192\.0\.2\.2/m)?.[1];
  expect(ifname).toBeTruthy();
  await atk.exec('ip', ['addr', 'add', `${TRUSTED}/24`, 'dev', ifname!]);
  await srv.listenTcp(22);
  await srv.listenTcp(2222);

  dir = mkdtempSync(join(tmpdir(), 'pct-e2e-'));
  const configDir = join(dir, 'config');
  mkdirSync(configDir);
  authLog = join(dir, 'auth.log');
  fastLog = join(dir, 'fast.log');
  writeFileSync(authLog, 'Jan  1 00:00:00 srv sshd[1]: an old line that must not be replayed from 203.0.113.9\n');
  writeFileSync(fastLog, '');
  // One jail.local is a whole configuration: the sshd filter is built in.
  writeFileSync(
    join(configDir, 'jail.local'),
    `[DEFAULT]
ignoreip = ${TRUSTED}
findtime = 10m

[sshd]
enabled  = true
port     = ssh
logpath  = ${authLog}
maxretry = 3
bantime  = 1h
bantime.increment = true

[recidive]
enabled  = true
filter   = recidive
maxretry = 3
findtime = 1d
bantime  = 1w

[sshd-fast]
enabled  = true
filter   = sshd
port     = 2222
logpath  = ${fastLog}
maxretry = 3
bantime  = 3s
`,
  );
  writeFileSync(join(configDir, 'portcullis.local'), '[portcullis]\nhost = e2e-server\n');
  stack = new StackProcess(srv, configDir, join(dir, 'state'), join(dir, 'stack.log'));
  await stack.start();
}, 120_000);

afterAll(async () => {
  await stack?.stop('SIGTERM');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('an SSH brute-forcer', () => {
  it('is banned after maxretry failures and let back in by portcullis unban', async () => {
    expect(await atk.canConnect(SERVER, 22)).toBe(true);
    for (let i = 0; i < 3; i++) appendFileSync(authLog, sshdFailure(ATTACKER, `user${i}`));
    const took = await waitFor(async () => !(await atk.canConnect(SERVER, 22, 300)), 20_000, () => `attacker never blocked\n${stack.logText()}`);
    expect(took).toBeGreaterThanOrEqual(0);
    expect(await kernelSet('sshd')).toContain(ATTACKER);
    // Only the jail that saw the failures bans: port 2222 (sshd-fast) stays open.
    expect(await atk.canConnect(SERVER, 2222)).toBe(true);
    const st = await statusJson('sshd');
    expect(st.bans.map((b) => b.ip)).toEqual([ATTACKER]);
    expect(st.currentlyBanned).toBe(1);

    const text = await stack.cli(['status', 'sshd']);
    expect(text.stdout).toMatch(/Currently banned:\s+1/);
    expect(text.stdout).toMatch(new RegExp(`Banned IP list:\\s+${ATTACKER.replace(/\./g, '\\.')}`));

    const unban = await stack.cli(['unban', ATTACKER]);
    expect(unban.code, unban.stderr).toBe(0);
    await waitFor(() => atk.canConnect(SERVER, 22, 300), 10_000, () => 'attacker still blocked after unban');
    expect(await kernelSet('sshd')).not.toContain(ATTACKER);
    expect((await statusJson('sshd')).currentlyBanned).toBe(0);
  });

  it('is let back in when a short bantime expires, without any unban', async () => {
    for (let i = 0; i < 3; i++) appendFileSync(fastLog, sshdFailure(ATTACKER));
    await waitFor(async () => !(await atk.canConnect(SERVER, 2222, 300)), 20_000, () => 'attacker never blocked on 2222');
    const blockedAt = Date.now();
    await waitFor(() => atk.canConnect(SERVER, 2222, 300), 15_000, () => 'ban did not expire');
    // bantime is 3 s: it must not have ended much earlier than that.
    expect(Date.now() - blockedAt).toBeGreaterThan(1_500);
    await waitFor(async () => (await statusJson('sshd-fast')).currentlyBanned === 0, 10_000, () => 'status still lists the expired ban');
  });

  it('never bans a trusted address (ignoreip), however often it fails', async () => {
    for (let i = 0; i < 10; i++) appendFileSync(authLog, sshdFailure(TRUSTED));
    // A marker attacker after the trusted lines: once it is banned, the trusted lines were processed.
    const marker = '192.0.2.77';
    for (let i = 0; i < 3; i++) appendFileSync(authLog, sshdFailure(marker));
    await waitFor(async () => (await kernelSet('sshd')).includes(marker), 20_000, () => 'marker never banned');
    expect(await kernelSet('sshd')).not.toContain(TRUSTED);
    const st = await statusJson('sshd');
    expect(st.bans.map((b) => b.ip)).not.toContain(TRUSTED);
    expect(st.failedIps).not.toContain(TRUSTED);
  });

  it('refuses to ban a trusted address from the CLI, with a non-zero exit status', async () => {
    const r = await stack.cli(['ban', 'sshd', TRUSTED]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('PC_TRUSTED_ADDRESS');
    expect(await kernelSet('sshd')).not.toContain(TRUSTED);
  });
});

describe('repeat offenders', () => {
  it('get the next bantime, and a recidive ban on all ports after three bans anywhere', async () => {
    // ATTACKER was banned once in sshd and once in sshd-fast above: this is its third ban.
    for (let i = 0; i < 3; i++) appendFileSync(authLog, sshdFailure(ATTACKER, `again${i}`));
    await waitFor(async () => (await kernelSet('sshd')).includes(ATTACKER), 20_000, () => 'second sshd ban missing');
    await waitFor(async () => (await kernelSet('recidive')).includes(ATTACKER), 10_000, () => 'no recidive ban');
    // recidive is all ports: 2222 (another jail's port) is closed too.
    expect(await atk.canConnect(SERVER, 2222, 500)).toBe(false);

    const audit = await stack.cli(['audit', '--ip', ATTACKER, '--kind', 'ban', '--json']);
    expect(audit.code, audit.stderr).toBe(0);
    const bans = JSON.parse(audit.stdout) as { jail: string; bantime: number; banCount: number; origin: string }[];
    const sshdBans = bans.filter((b) => b.jail === 'sshd');
    // bantime.increment: 1h, then 2h (fail2ban's default formula: bantime * 2^count).
    expect(sshdBans.map((b) => b.bantime)).toEqual([7200, 3600]);
    expect(sshdBans.map((b) => b.banCount)).toEqual([2, 1]);
    expect(bans.find((b) => b.jail === 'recidive')).toMatchObject({ bantime: 604800 });

    const r = await stack.cli(['unban', ATTACKER, '--by', 'e2e-admin']);
    expect(r.code, r.stderr).toBe(0);
    await waitFor(() => atk.canConnect(SERVER, 2222, 300), 10_000, () => 'still blocked after unban');
    expect(await kernelSet('recidive')).not.toContain(ATTACKER);
  });

  it('are all in the audit log with origin and who', async () => {
    const r = await stack.cli(['audit', '--ip', ATTACKER, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const entries = JSON.parse(r.stdout) as { kind: string; jail: string; origin: string; by?: string; at: number }[];
    const kinds = entries.map((e) => `${e.kind}:${e.jail}:${e.origin}`);
    expect(kinds).toContain('ban:sshd:log');
    expect(kinds).toContain('ban:sshd-fast:log');
    expect(kinds).toContain('ban:recidive:log');
    expect(kinds).toContain('unban:sshd:cli');
    expect(entries.find((e) => e.kind === 'unban' && e.by === 'e2e-admin')).toBeDefined();
    // Newest first.
    const times = entries.map((e) => e.at);
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    const text = await stack.cli(['audit', '--jail', 'recidive']);
    expect(text.stdout).toContain(ATTACKER);
  });
});

describe('move to trusted', () => {
  it('unbans everywhere and never bans the address again', async () => {
    const ip = '192.0.2.40';
    for (let i = 0; i < 3; i++) appendFileSync(authLog, sshdFailure(ip));
    await waitFor(async () => (await kernelSet('sshd')).includes(ip), 20_000, () => 'not banned');
    const r = await stack.cli(['trust', ip, '--by', 'e2e-admin']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`sshd:${ip}`);
    await waitFor(async () => !(await kernelSet('sshd')).includes(ip), 10_000, () => 'still in the kernel after trust');
    const listed = await stack.cli(['trusted', '--json']);
    expect((JSON.parse(listed.stdout) as { entry: string }[]).map((t) => t.entry)).toContain(ip);

    const marker = '192.0.2.41';
    for (let i = 0; i < 3; i++) appendFileSync(authLog, sshdFailure(ip));
    for (let i = 0; i < 3; i++) appendFileSync(authLog, sshdFailure(marker));
    await waitFor(async () => (await kernelSet('sshd')).includes(marker), 20_000, () => 'marker never banned');
    expect(await kernelSet('sshd')).not.toContain(ip);
    const refused = await stack.cli(['ban', 'sshd', ip]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('PC_TRUSTED_ADDRESS');
    expect((await stack.cli(['untrust', ip])).code).toBe(0);
  });
});

describe('bans survive the banner', () => {
  it('stay in the kernel while Portcullis is stopped, and in status after it restarts', async () => {
    const ip = '192.0.2.50';
    for (let i = 0; i < 3; i++) appendFileSync(authLog, sshdFailure(ip));
    await waitFor(async () => (await kernelSet('sshd')).includes(ip), 20_000, () => 'not banned');

    await stack.stop('SIGTERM');
    expect(await kernelSet('sshd')).toContain(ip);
    await stack.start();
    expect((await statusJson('sshd')).bans.map((b) => b.ip)).toContain(ip);
    expect(await kernelSet('sshd')).toContain(ip);

    // A crash (SIGKILL) leaves the kernel state and the stores intact too.
    await stack.stop('SIGKILL');
    expect(await kernelSet('sshd')).toContain(ip);
    await stack.start();
    expect((await statusJson('sshd')).bans.map((b) => b.ip)).toContain(ip);
    expect(await kernelSet('sshd')).toContain(ip);
  }, 120_000);
});

describe('malformed messages', () => {
  it('are rejected and counted on every subject, and the services keep working', async () => {
    const info = readRuntimeInfo(stack.stateDir);
    expect(info).toBeDefined();
    const mark = stack.logText().length;
    const r = await srv.exec('node', [resolve(import.meta.dirname, 'fixtures/publish-junk.mjs'), info!.natsUrl]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { sent: number; controlReply: string };
    expect(out.sent).toBe(20);
    expect(JSON.parse(out.controlReply)).toMatchObject({ ok: false, error: { code: 'PC_MESSAGE_INVALID' } });

    // Every subject this stack consumes (flow alerts are read only by a notifier with a flood target,
    // and that consumer's rejections are tested with the notifier).
    for (const contract of ['LogBatch.v1', 'FailureEvent.v1', 'BanDecision.v1', 'ControlRequest.v1']) {
      await waitFor(() => stack.logText().slice(mark).includes(contract), 10_000, () => `no rejection logged for ${contract}`);
    }
    const rejections = () =>
      stack
        .logText()
        .slice(mark)
        .split('\n')
        .filter((l) => l.includes('rejected invalid message'))
        .map((l) => JSON.parse(l) as { rejected: number; subject: string });
    // Every durable subject got 4 junk messages; each consumer counts them (decisions are read by
    // every banner's enforcer). Counting happens as the consumers reach them: wait for all 4.
    const maxCount = (prefix: string) => Math.max(0, ...rejections().filter((x) => x.subject.startsWith(prefix)).map((x) => x.rejected));
    for (const prefix of ['portcullis.v1.log.lines', 'portcullis.v1.failure', 'portcullis.v1.decision']) {
      await waitFor(() => maxCount(prefix) >= 4, 15_000, () => `${prefix}: ${maxCount(prefix)} rejections counted, expected 4`);
    }
    expect(stack.alive).toBe(true);

    // And the pipeline still bans.
    const ip = '192.0.2.60';
    for (let i = 0; i < 3; i++) appendFileSync(authLog, sshdFailure(ip));
    await waitFor(async () => (await kernelSet('sshd')).includes(ip), 20_000, () => 'pipeline stopped banning after junk');
  });
});
