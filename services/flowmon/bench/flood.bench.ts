/** Flood detection latency per attack type (first packet to alert and to kernel mitigation, p50/max) and flowmon's CPU cost idle and under flood. */
// Usage: pnpm bench flood [RUNS]   (default 5 runs per attack type; slowloris runs 3 times)
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureExecutable, type FlowAlertV1 } from '@portcullis/shared';
import { createNetns, linkNetns, type Netns } from '../../../tests/harness/netns.js';
import { FlowmonAgent } from '../test/flood/agent-client.js';

const RUNS = Math.max(1, Number(process.argv[2] ?? 5));
const VICTIM = '192.0.2.1';
const BOT = '192.0.2.3';
const TRAFFIC = fileURLToPath(new URL('../test/flood/traffic.mjs', import.meta.url));

interface Scenario {
  attack: FlowAlertV1['attack'];
  tool: 'hping3' | 'slowhttptest' | 'node';
  args: string[];
  runs: number;
}

const SCENARIOS: Scenario[] = [
  { attack: 'udp-flood', tool: 'hping3', args: ['--udp', '-p', '9', '-c', '15000', '-i', 'u20', '-q', VICTIM], runs: RUNS },
  { attack: 'syn-flood', tool: 'hping3', args: ['-S', '-p', '80', '--rand-source', '-c', '15000', '-i', 'u20', '-q', VICTIM], runs: RUNS },
  { attack: 'icmp-flood', tool: 'hping3', args: ['--icmp', '-c', '15000', '-i', 'u20', '-q', VICTIM], runs: RUNS },
  { attack: 'dns-amplification', tool: 'hping3', args: ['--udp', '-s', '53', '-k', '-p', '33333', '-c', '15000', '-i', 'u20', '-q', VICTIM], runs: RUNS },
  { attack: 'http-flood', tool: 'node', args: [TRAFFIC, 'rate', VICTIM, '80', '500', '1.5', BOT], runs: RUNS },
  { attack: 'slowloris', tool: 'slowhttptest', args: ['-c', '80', '-H', '-i', '1', '-r', '40', '-l', '4', '-p', '1', '-x', '10', '-u', `http://${VICTIM}:443/`], runs: Math.min(RUNS, 3) },
];

const namespaces: Netns[] = [];
const tmp = mkdtempSync(join(tmpdir(), 'pct-flowmon-bench-'));
let agent: FlowmonAgent | undefined;

try {
  const tools = {
    hping3: await ensureExecutable('hping3', 'hping3', { install: true }),
    slowhttptest: await ensureExecutable('slowhttptest', 'slowhttptest', { install: true }),
    node: process.execPath,
  };
  const server = await ns();
  const attacker = await ns();
  const client = await ns();
  const link = await linkNetns(server, attacker, { aAddr: `${VICTIM}/24`, bAddr: '192.0.2.2/24' });
  await attacker.exec('ip', ['addr', 'add', `${BOT}/24`, 'dev', link.bIf]);
  await linkNetns(server, client, { aAddr: '198.51.100.1/24', bAddr: '198.51.100.2/24' });
  const configDir = join(tmp, 'config');
  mkdirSync(configDir, { recursive: true });
  writeFileSync(join(configDir, 'jail.local'), '[sshd]\nenabled = false\n');
  writeFileSync(
    join(configDir, 'portcullis.local'),
    '[portcullis]\nhost = victim\n\n[flowmon]\nfloor_udp = 1000\nfloor_dns = 500\nfloor_icmp = 500\nfloor_syn = 1000\nfloor_http = 100\nslowloris_conns = 40\nslowloris_min_age = 0.5s\nrelease = 0.5s\ncooldown = 1s\n',
  );
  await server.listenTcp(80);
  agent = await FlowmonAgent.start(server);
  const a = agent;
  await a.call('hold.listen', { port: 443, idleMs: 2500 });
  await a.call('start', { configDir, stateDir: join(tmp, 'state') });
  await sleep(1000);

  // CPU at idle: flowmon measuring ten times a second with nothing happening.
  const idle = await cpuOver(a, 10_000);
  const readMs = (await a.call<{ msPerRead: number }>('read.cost', { table: 'portcullis_flow', reads: 300 })).msPerRead;
  // The same reads with a 50,000-address ban set in another table (as the banner keeps one).
  const bans = join(tmp, 'bans.nft');
  const elems: string[] = [];
  for (let i = 0; i < 50_000; i++) elems.push(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
  writeFileSync(bans, `table inet pct_bench_bans {\n set banned {\n type ipv4_addr\n flags timeout\n elements = { ${elems.join(', ')} }\n }\n}\n`);
  await server.exec('nft', ['-f', bans], { timeoutMs: 60_000 });
  const readMsBigSet = (await a.call<{ msPerRead: number }>('read.cost', { table: 'portcullis_flow', reads: 300 })).msPerRead;
  const idleBigSet = await cpuOver(a, 5000);
  await server.exec('nft', ['delete', 'table', 'inet', 'pct_bench_bans']);

  // CPU under a flood: 3 s of UDP from one source, detected and dropped meanwhile.
  const floodCpu0 = await a.call<Cpu>('cpu');
  const fromAlerts = a.alerts.length;
  await attacker.exec(tools.hping3, ['--udp', '-p', '9', '-c', '60000', '-i', 'u20', '-q', VICTIM], { check: false, timeoutMs: 60_000 });
  const floodCpu1 = await a.call<Cpu>('cpu');
  const flooded = cpuPercent(floodCpu0, floodCpu1);
  const floodStart = a.alerts.slice(fromAlerts).find((x) => x.value.phase === 'start')?.value;
  await a.waitAlert((x) => x.phase === 'end' && x.id === floodStart?.id, 15_000, fromAlerts);

  const results: Record<string, { detect: number[]; mitigate: number[] }> = {};
  for (const s of SCENARIOS) {
    const r = (results[s.attack] = { detect: [] as number[], mitigate: [] as number[] });
    for (let i = 0; i < s.runs; i++) {
      const from = a.alerts.length;
      const t0 = Date.now();
      const out = await attacker.exec(tools[s.tool], s.args, { check: false, timeoutMs: 60_000 });
      const firstAt = s.tool === 'node' ? (JSON.parse(out.stdout) as { firstAt: number }).firstAt : t0;
      const start = await a.waitAlert((x) => x.phase === 'start' && x.attack === s.attack, 8000, from);
      r.detect.push(start.value.at - firstAt);
      r.mitigate.push((start.value.mitigatedAt ?? Number.NaN) - firstAt);
      await a.waitAlert((x) => x.phase === 'end' && x.id === start.value.id, 20_000, from);
      await sleep(300);
    }
  }

  const figures: Record<string, number> = {
    idle_cpu_percent: round(idle),
    idle_cpu_percent_with_50k_ban_set: round(idleBigSet),
    flood_cpu_percent: round(flooded),
    flood_peak_pps: Math.round(floodStart?.rate ?? 0),
    read_ms_per_tick: round(readMs, 3),
    read_ms_per_tick_with_50k_ban_set: round(readMsBigSet, 3),
  };
  console.log(`flowmon CPU: idle ${figures.idle_cpu_percent}% (${figures.idle_cpu_percent_with_50k_ban_set}% beside a 50k ban set), under a UDP flood ${figures.flood_cpu_percent}%`);
  console.log(`one tick's reads: ${figures.read_ms_per_tick} ms (${figures.read_ms_per_tick_with_50k_ban_set} ms beside a 50k ban set)`);
  console.log('latency from the first packet (ms):       detect p50   max   mitigated p50   max   runs');
  for (const [attack, r] of Object.entries(results)) {
    const key = attack.replace(/-/g, '_');
    figures[`${key}_detect_p50_ms`] = pct(r.detect, 50);
    figures[`${key}_detect_max_ms`] = Math.max(...r.detect);
    figures[`${key}_mitigate_p50_ms`] = pct(r.mitigate, 50);
    figures[`${key}_mitigate_max_ms`] = Math.max(...r.mitigate);
    console.log(
      `  ${attack.padEnd(38)} ${String(pct(r.detect, 50)).padStart(10)} ${String(Math.max(...r.detect)).padStart(5)} ${String(pct(r.mitigate, 50)).padStart(15)} ${String(Math.max(...r.mitigate)).padStart(5)} ${String(r.detect.length).padStart(6)}`,
    );
  }
  console.log(JSON.stringify(figures));
} finally {
  await agent?.stop();
  for (const n of namespaces) await n.dispose();
  rmSync(tmp, { recursive: true, force: true });
}

interface Cpu {
  user: number;
  system: number;
  at: number;
}

async function cpuOver(a: FlowmonAgent, ms: number): Promise<number> {
  const c0 = await a.call<Cpu>('cpu');
  await sleep(ms);
  return cpuPercent(c0, await a.call<Cpu>('cpu'));
}

/** Share of one core used between two readings. */
function cpuPercent(c0: Cpu, c1: Cpu): number {
  return ((c1.user - c0.user + c1.system - c0.system) / 1000 / (c1.at - c0.at)) * 100;
}

async function ns(): Promise<Netns> {
  const n = await createNetns('pctbench');
  namespaces.push(n);
  return n;
}

function pct(values: number[], p: number): number {
  const s = [...values].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
}

function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
