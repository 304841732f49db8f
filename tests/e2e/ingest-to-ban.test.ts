/**
 * Events that come in over HTTP ingest and syslog go all the way to a ban on a real kernel:
 * `portcullis up` runs in a "server" namespace with ingest_listen, ingest_tokens and syslog_listen
 * set; clients inside that namespace POST failures and lines and send sshd syslog messages over UDP
 * and TCP; each address must land in the nftables set `inet portcullis sshd-v4`, and the one that
 * is a real peer (the "attacker" namespace) must then be unable to connect.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useNetnsScope, type Netns } from '../harness/index.js';
import { sshdFailure, StackProcess, waitFor } from './stack-process.js';

const SERVER = '192.0.2.1';
const ATTACKER = '192.0.2.2';
const VIA_SYSLOG_UDP = '198.51.100.21';
const VIA_SYSLOG_TCP = '198.51.100.22';
const VIA_HTTP_LINES = '198.51.100.23';
const INGEST = '127.0.0.1:8514';
const TOKEN = '3f9c0e6b1d2a4c8e9f00aa11bb22cc33';

const scope = useNetnsScope();
let srv: Netns;
let atk: Netns;
let dir: string;
let stack: StackProcess;

async function kernelSet(): Promise<string> {
  const r = await srv.exec('nft', ['list', 'set', 'inet', 'portcullis', 'sshd-v4']);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

async function waitForBan(ip: string): Promise<void> {
  await waitFor(async () => (await kernelSet()).includes(ip), 20_000, () => `${ip} never reached the nft set\n${stack.logText().slice(-4000)}`);
}

/** curl inside the server namespace; returns the status and the parsed JSON body. */
async function post(path: string, body: string, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }): Promise<{ status: number; body: Record<string, unknown> }> {
  const args = ['-sS', '-X', 'POST', `http://${INGEST}${path}`, '-H', 'content-type: application/json', '--data-binary', '@-', '-w', '\n%{http_code}'];
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`);
  const r = await srv.exec('curl', args, { input: body, check: false });
  expect(r.code, r.stderr).toBe(0);
  const nl = r.stdout.lastIndexOf('\n');
  return { status: Number(r.stdout.slice(nl + 1)), body: JSON.parse(r.stdout.slice(0, nl)) as Record<string, unknown> };
}

/** Sends syslog messages from a process inside the server namespace (UDP datagrams, or one TCP stream). */
async function sendSyslog(proto: 'udp' | 'tcp', messages: string[]): Promise<void> {
  const script =
    proto === 'udp'
      ? `const s = require('node:dgram').createSocket('udp4'); const m = JSON.parse(process.argv[1]);
         let n = 0; for (const x of m) s.send(x, 5514, '127.0.0.1', () => { if (++n === m.length) s.close(); });`
      : `const c = require('node:net').connect(5514, '127.0.0.1', () => { c.end(JSON.parse(process.argv[1]).map((x) => x + '\\n').join('')); });`;
  const r = await srv.exec('node', ['-e', script, JSON.stringify(messages)], { check: false });
  expect(r.code, r.stderr).toBe(0);
}

beforeAll(async () => {
  const pair = await scope.createPair();
  srv = pair.a;
  atk = pair.b;
  await srv.listenTcp(22);

  dir = mkdtempSync(join(tmpdir(), 'pct-e2e-ingest-'));
  const configDir = join(dir, 'config');
  mkdirSync(configDir);
  const authLog = join(dir, 'auth.log');
  writeFileSync(authLog, '');
  writeFileSync(
    join(configDir, 'jail.local'),
    `[sshd]
enabled  = true
port     = ssh
logpath  = ${authLog}
syslog_program = sshd
maxretry = 3
findtime = 10m
bantime  = 1h
`,
  );
  writeFileSync(
    join(configDir, 'portcullis.local'),
    `[portcullis]
host = e2e-ingest
ingest_listen = ${INGEST}
ingest_tokens = e2e-client:${TOKEN}
syslog_listen = udp://127.0.0.1:5514 tcp://127.0.0.1:5514
`,
  );
  stack = new StackProcess(srv, configDir, join(dir, 'state'), join(dir, 'stack.log'));
  await stack.start();
}, 120_000);

afterAll(async () => {
  await stack?.stop('SIGTERM');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('events from HTTP ingest and syslog end in a ban', () => {
  it('refuses requests without a valid token or with an invalid event, and they count for nothing', async () => {
    const event = JSON.stringify({ jail: 'sshd', ip: ATTACKER });
    const noToken = await post('/v1/failures', event, {});
    expect(noToken.status).toBe(401);
    expect(noToken.body).toMatchObject({ error: { code: 'PC_UNAUTHORIZED' } });
    const wrongToken = await post('/v1/failures', event, { authorization: 'Bearer not-the-token-0000000000' });
    expect(wrongToken.status).toBe(401);
    const badIp = await post('/v1/failures', JSON.stringify([{ jail: 'sshd', ip: '999.1.1.1' }]));
    expect(badIp.status).toBe(400);
    expect(badIp.body).toMatchObject({ error: { code: 'PC_MESSAGE_INVALID', details: [{ path: '[0].ip' }] } });
    const unknownJail = await post('/v1/failures', JSON.stringify({ jail: 'nope', ip: ATTACKER }));
    expect(unknownJail.status).toBe(422);
    expect(unknownJail.body).toMatchObject({ error: { code: 'PC_JAIL_UNKNOWN' } });
    // Three refused requests named sshd and the attacker (maxretry = 3): had they counted, it would
    // be banned by now.
    expect((await post('/v1/failures', event, {})).status).toBe(401);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await kernelSet()).not.toContain(ATTACKER);
    expect(await atk.canConnect(SERVER, 22)).toBe(true);
  });

  it('three failures POSTed to /v1/failures ban the address, and its packets are dropped', async () => {
    const now = Date.now();
    const failures = [0, 1, 2].map((i) => ({ jail: 'sshd', ip: ATTACKER, at: now + i, id: `login-${now}-${i}`, user: `user${i}` }));
    const r = await post('/v1/failures', JSON.stringify(failures));
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ accepted: 3 });
    await waitForBan(ATTACKER);
    await waitFor(async () => !(await atk.canConnect(SERVER, 22, 300)), 10_000, () => 'attacker still connects');
  });

  it('three sshd lines POSTed to /v1/lines go through the filter to a ban', async () => {
    const lines = [0, 1, 2].map((i) => `${new Date().toISOString()} bastion sshd[7]: Failed password for root from ${VIA_HTTP_LINES} port ${40000 + i} ssh2`);
    const r = await post('/v1/lines', JSON.stringify({ jail: 'sshd', origin: 'bastion', lines }));
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ accepted: 3 });
    await waitForBan(VIA_HTTP_LINES);
  });

  it('three sshd failures sent as RFC 3164 syslog over UDP ban the address', async () => {
    await sendSyslog('udp', [0, 1, 2].map((i) => `<38>${sshdFailure(VIA_SYSLOG_UDP, `u${i}`).trimEnd()}`));
    await waitForBan(VIA_SYSLOG_UDP);
  });

  it('three sshd failures sent over syslog TCP ban the address', async () => {
    await sendSyslog('tcp', [0, 1, 2].map((i) => `<38>${sshdFailure(VIA_SYSLOG_TCP, `t${i}`).trimEnd()}`));
    await waitForBan(VIA_SYSLOG_TCP);
    expect(stack.alive).toBe(true);
  });
});
