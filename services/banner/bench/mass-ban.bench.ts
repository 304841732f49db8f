/** Mass bans: 50,000 via `portcullis ban`, 50,000 via 150,000 log lines, restart reconcile of 100,000; fail2ban banip beside it */
import { appendFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { sshdFailure } from '../../../tests/e2e/stack-process.js';
import { Fail2ban, FAIL2BAN_TABLE, fail2banInstalled } from './lib/fail2ban.js';
import { CLI, closeOnSignal, requireBuild, startFleet, type BenchHost, type Fleet } from './lib/fleet.js';
import { waitForAll } from './lib/kernel-watch.js';
import { docAddresses6, round } from './lib/stats.js';

const { values: args } = parseArgs({
  // `pnpm bench mass-ban -- --count 1000` passes the `--` through
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: {
    count: { type: 'string', default: '50000' },
    'log-count': { type: 'string' },
    'f2b-count': { type: 'string', default: '2000' },
    'no-fail2ban': { type: 'boolean', default: false },
    'timeout-s': { type: 'string', default: '240' },
  },
});
const COUNT = Number(args.count);
const LOG_COUNT = Number(args['log-count'] ?? args.count);
const F2B_COUNT = Number(args['f2b-count']);
const TIMEOUT_MS = Number(args['timeout-s']) * 1000;
const JAIL = `[sshd]\nenabled = true\nport = ssh\nlogpath = %LOG%\nmaxretry = 3\nfindtime = 10m\nbantime = 1h\n`;
const OURS = { family: 'inet', table: 'portcullis', set: 'sshd-v6' };

/** Epoch ms of the last stack log line (pino JSON) whose msg is `msg`, after character `from`. */
function loggedAt(h: BenchHost, msg: string, from: number): { time: number; line: Record<string, unknown> } | undefined {
  const text = h.stack.logText().slice(from);
  let found: { time: number; line: Record<string, unknown> } | undefined;
  for (const l of text.split('\n')) {
    if (!l.includes(`"${msg}"`)) continue;
    try {
      const j = JSON.parse(l) as Record<string, unknown>;
      // pino's time: epoch ms, or an ISO string with the isoTime formatter
      const time = typeof j.time === 'number' ? j.time : typeof j.time === 'string' ? Date.parse(j.time) : NaN;
      if (j.msg === msg && Number.isFinite(time)) found ??= { time, line: j };
    } catch {
      // not a log line of ours
    }
  }
  return found;
}

async function manualBan(h: BenchHost, ips: string[]) {
  const mark = h.stack.logText().length;
  const t0 = Date.now();
  const cli = h.ns.exec('node', [CLI, 'ban', 'sshd', ...ips, '--config', h.stack.configDir, '--state', h.stack.stateDir], { check: false, timeoutMs: TIMEOUT_MS });
  const inKernel = waitForAll(h.ns, OURS, ips, TIMEOUT_MS);
  const r = await cli;
  const cliMs = Date.now() - t0;
  const kernelAt = await inKernel;
  if (r.code !== 0) console.log(`portcullis ban exited ${r.code}: ${r.stderr.slice(0, 500)}`);
  const received = loggedAt(h, 'control request received', mark);
  return {
    ok: r.code === 0 && kernelAt !== undefined,
    cliMs,
    cliToKernelMs: kernelAt === undefined ? null : kernelAt - t0,
    requestToKernelMs: kernelAt === undefined || !received ? null : kernelAt - received.time,
  };
}

/** Epoch ms of the first and last ban decisions the banner logged after character `from`. */
function bansLogged(h: BenchHost, from: number): { first: number; last: number } | undefined {
  let out: { first: number; last: number } | undefined;
  for (const l of h.stack.logText().slice(from).split('\n')) {
    if (!l.includes('"ban ')) continue;
    try {
      const j = JSON.parse(l) as { msg?: string; time?: number | string };
      const time = typeof j.time === 'number' ? j.time : typeof j.time === 'string' ? Date.parse(j.time) : NaN;
      if (!/^ban (\d+ addresses|\S+ in \S+)$/.test(j.msg ?? '') || !Number.isFinite(time)) continue;
      out = { first: Math.min(out?.first ?? time, time), last: Math.max(out?.last ?? time, time) };
    } catch {
      // not a log line of ours
    }
  }
  return out;
}

async function logBans(h: BenchHost, ips: string[]) {
  let text = '';
  for (let round = 0; round < 3; round++) for (const ip of ips) text += sshdFailure(ip);
  const mark = h.stack.logText().length;
  const t0 = Date.now();
  appendFileSync(h.log, text);
  const written = Date.now();
  const kernelAt = await waitForAll(h.ns, OURS, ips, TIMEOUT_MS);
  // when the decisions were made, to tell deciding (collector, matcher, Redis) from enforcing
  const decided = bansLogged(h, mark);
  return {
    ok: kernelAt !== undefined,
    lines: ips.length * 3,
    writeMs: written - t0,
    writtenToKernelMs: kernelAt === undefined ? null : kernelAt - written,
    writtenToFirstBanMs: decided ? decided.first - written : null,
    writtenToLastBanMs: decided ? decided.last - written : null,
  };
}

async function restart(h: BenchHost, all: string[]) {
  await h.stack.stop('SIGTERM');
  // An empty firewall (as after a reboot): reconcile has to write every ban back.
  await h.ns.exec('nft', ['delete', 'table', 'inet', 'portcullis'], { check: false });
  const mark = h.stack.logText().length;
  const t0 = Date.now();
  const inKernel = waitForAll(h.ns, OURS, all, TIMEOUT_MS);
  await h.stack.start(TIMEOUT_MS);
  const kernelAt = await inKernel;
  const rec = loggedAt(h, 'firewall reconciled with the ban store', mark);
  return {
    ok: kernelAt !== undefined,
    bans: all.length,
    startToKernelMs: kernelAt === undefined ? null : kernelAt - t0,
    reconcileMs: typeof rec?.line.durationMs === 'number' ? rec.line.durationMs : null,
    storeReadMs: typeof rec?.line.readMs === 'number' ? rec.line.readMs : null,
    firewallWriteMs: typeof rec?.line.writeMs === 'number' ? rec.line.writeMs : null,
    restored: typeof rec?.line.restored === 'number' ? rec.line.restored : null,
  };
}

async function fail2banBanip(fleet: Fleet, ips: string[]) {
  const f2b = new Fail2ban(await fleet.extraNetns(), { maxretry: 3 });
  try {
    await f2b.start();
    const t0 = Date.now();
    const inKernel = waitForAll(f2b.ns, { family: 'inet', table: FAIL2BAN_TABLE, set: 'addr6-set-sshd' }, ips, TIMEOUT_MS, 100);
    const r = await f2b.client(['set', 'sshd', 'banip', ...ips], TIMEOUT_MS);
    const cliMs = Date.now() - t0;
    const kernelAt = await inKernel;
    return { ok: r.code === 0 && kernelAt !== undefined, count: ips.length, cliMs, toKernelMs: kernelAt === undefined ? null : kernelAt - t0 };
  } finally {
    await f2b.stop();
  }
}

let current: Fleet | undefined;
closeOnSignal(() => current);
requireBuild();
console.log(`mass-ban: ${COUNT} via portcullis ban, ${LOG_COUNT} via ${LOG_COUNT * 3} log lines (maxretry 3), restart with ${COUNT + LOG_COUNT} bans; fail2ban banip ${F2B_COUNT}`);
current = await startFleet({ hosts: 1, jails: JAIL });
const fleet = current;
const out: Record<string, unknown> = { count: COUNT, logCount: LOG_COUNT };
try {
  const h = fleet.hosts[0]!;
  const manual = docAddresses6(COUNT, 1);
  const m = await manualBan(h, manual);
  out.manual = m;
  console.log(`portcullis ban of ${COUNT}: whole CLI call ${m.cliMs} ms; request -> all in kernel ${m.requestToKernelMs ?? 'n/a'} ms; CLI start -> all in kernel ${m.cliToKernelMs ?? 'n/a'} ms${m.ok ? '' : ' (FAILED)'}`);

  const fromLogs = docAddresses6(LOG_COUNT, 2);
  const l = await logBans(h, fromLogs);
  out.logs = l;
  console.log(
    `${l.lines} log lines (${LOG_COUNT} addresses): written in ${l.writeMs} ms; written -> all in kernel ${l.writtenToKernelMs ?? 'n/a'} ms (bans decided ${l.writtenToFirstBanMs ?? 'n/a'}..${l.writtenToLastBanMs ?? 'n/a'} ms)${l.ok ? '' : ' (FAILED)'}`,
  );

  const r = await restart(h, [...manual, ...fromLogs]);
  out.restart = r;
  console.log(`restart with ${r.bans} bans, empty firewall: start -> all in kernel ${r.startToKernelMs ?? 'n/a'} ms; banner reconcile ${r.reconcileMs ?? 'n/a'} ms (store read ${r.storeReadMs ?? 'n/a'} ms, firewall ${r.firewallWriteMs ?? 'n/a'} ms)${r.ok ? '' : ' (FAILED)'}`);

  if (!args['no-fail2ban'] && fail2banInstalled()) {
    const f = await fail2banBanip(fleet, docAddresses6(F2B_COUNT, 3));
    const rate = f.toKernelMs ? (f.count / f.toKernelMs) * 1000 : null;
    const extrapolatedMs = rate ? Math.round((COUNT / rate) * 1000) : null;
    out.fail2ban = { ...f, perSecond: rate ? round(rate) : null, extrapolatedMsFor: COUNT, extrapolatedMs };
    console.log(`fail2ban-client set sshd banip ${f.count}: call ${f.cliMs} ms, all in kernel ${f.toKernelMs ?? 'n/a'} ms (${rate ? round(rate) : 'n/a'}/s); extrapolated to ${COUNT}: ${extrapolatedMs ?? 'n/a'} ms`);
    if (extrapolatedMs && m.cliToKernelMs) {
      out.ratio = round(extrapolatedMs / m.cliToKernelMs);
      console.log(`ratio fail2ban (extrapolated) / portcullis, ${COUNT} manual bans to the kernel: ${String(out.ratio)}x`);
    }
  }
} finally {
  await fleet.close();
  current = undefined;
}
console.log(JSON.stringify(out));
process.exit(0);
