/** Log line appended -> address in the kernel set: p50/p99 on the same host and on all hosts of three, beside fail2ban 1.0.2 */
import { appendFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { sshdFailure } from '../../../tests/e2e/stack-process.js';
import { Fail2ban, fail2banInstalled } from './lib/fail2ban.js';
import { closeOnSignal, requireBuild, startFleet, type Fleet } from './lib/fleet.js';
import { NftMonitor } from './lib/kernel-watch.js';
import { round, summary } from './lib/stats.js';

const { values: args } = parseArgs({
  options: {
    samples: { type: 'string', default: '200' },
    'fleet-samples': { type: 'string', default: '200' },
    'f2b-samples': { type: 'string', default: '100' },
    'no-fail2ban': { type: 'boolean', default: false },
  },
});
const SAMPLES = Number(args.samples);
const FLEET_SAMPLES = Number(args['fleet-samples']);
const F2B_SAMPLES = Number(args['f2b-samples']);
const TIMEOUT_MS = 10_000;
const JAIL = `[sshd]\nenabled = true\nport = ssh\nlogpath = %LOG%\nmaxretry = 3\nfindtime = 10m\nbantime = 1h\n`;

/** Documentation IPv4 addresses, never the hub links' 198.51.100.0/24. */
function sampleAddress(i: number): string {
  if (i >= 500) throw new Error('at most 500 samples');
  return i < 250 ? `192.0.2.${i + 1}` : `203.0.113.${i - 249}`;
}

/**
 * One sample: two failures of a fresh address, then the third (maxretry 3) timed from the moment
 * it is appended until every monitor has seen the address added to its set.
 */
async function measure(log: string, monitors: { mon: NftMonitor; set: string }[], ip: string): Promise<number[] | undefined> {
  appendFileSync(log, sshdFailure(ip) + sshdFailure(ip));
  await new Promise((r) => setTimeout(r, 40));
  const t0 = Date.now();
  appendFileSync(log, sshdFailure(ip));
  const seen = await Promise.all(monitors.map((m) => m.mon.when(m.set, ip, TIMEOUT_MS)));
  if (seen.some((t) => t === undefined)) return undefined;
  return seen.map((t) => t! - t0);
}

let current: Fleet | undefined;
closeOnSignal(() => current);

async function ours(hosts: number, samples: number, offset: number): Promise<{ sameHost: number[]; allHosts: number[]; lost: number }> {
  current = await startFleet({ hosts, jails: JAIL });
  const fleet = current;
  try {
    const monitors = fleet.hosts.map((h) => ({ mon: new NftMonitor(h.ns, /^sshd-v4$/), set: 'sshd-v4' }));
    await Promise.all(monitors.map((m) => m.mon.ready));
    const sameHost: number[] = [];
    const allHosts: number[] = [];
    let lost = 0;
    for (let i = 0; i < samples; i++) {
      const r = await measure(fleet.hosts[0]!.log, monitors, sampleAddress(offset + i));
      if (!r) {
        lost++;
        continue;
      }
      sameHost.push(r[0]!);
      allHosts.push(Math.max(...r));
    }
    for (const m of monitors) m.mon.stop();
    return { sameHost, allHosts, lost };
  } finally {
    await fleet.close();
    current = undefined;
  }
}

async function fail2ban(samples: number): Promise<{ lat: number[]; lost: number; backend: string } | undefined> {
  if (!fail2banInstalled()) return undefined;
  current = await startFleet({ hosts: 0, jails: '' });
  const fleet = current;
  const f2b = new Fail2ban(await fleet.extraNetns(), { maxretry: 3 });
  try {
    await f2b.start();
    const mon = new NftMonitor(f2b.ns, /^addr-set-sshd$/);
    await mon.ready;
    const lat: number[] = [];
    let lost = 0;
    for (let i = 0; i < samples; i++) {
      const r = await measure(f2b.log, [{ mon, set: 'addr-set-sshd' }], sampleAddress(i));
      if (r) lat.push(r[0]!);
      else lost++;
    }
    mon.stop();
    return { lat, lost, backend: f2b.backendUsed() };
  } finally {
    await f2b.stop();
    await fleet.close();
    current = undefined;
  }
}

requireBuild();
console.log(`ban-latency: ${SAMPLES} samples on one host, ${FLEET_SAMPLES} on three hosts, ${F2B_SAMPLES} with fail2ban (log line -> element in the nft set, nft monitor)`);
const one = await ours(1, SAMPLES, 0);
const s1 = summary(one.sameHost);
console.log(`portcullis, one host:      p50 ${s1.p50} ms  p99 ${s1.p99} ms  max ${s1.max} ms  (n=${s1.n}, lost ${one.lost})`);
const three = await ours(3, FLEET_SAMPLES, 250);
const s3a = summary(three.sameHost);
const s3 = summary(three.allHosts);
console.log(`portcullis, three hosts:   same host p50 ${s3a.p50} ms p99 ${s3a.p99} ms; all hosts p50 ${s3.p50} ms  p99 ${s3.p99} ms  max ${s3.max} ms  (n=${s3.n}, lost ${three.lost})`);
const f2b = args['no-fail2ban'] ? undefined : await fail2ban(F2B_SAMPLES);
const sf = f2b ? summary(f2b.lat) : undefined;
if (f2b && sf) {
  console.log(`fail2ban 1.0.2 (${f2b.backend}): p50 ${sf.p50} ms  p99 ${sf.p99} ms  max ${sf.max} ms  (n=${sf.n}, lost ${f2b.lost})`);
  console.log(`ratio fail2ban / portcullis (one host): p50 ${round(sf.p50 / s1.p50)}x  p99 ${round(sf.p99 / s1.p99)}x`);
} else console.log('fail2ban: not measured');
console.log(
  JSON.stringify({
    oneHost: { p50Ms: s1.p50, p99Ms: s1.p99, maxMs: s1.max, n: s1.n, lost: one.lost },
    threeHosts: { sameHostP50Ms: s3a.p50, sameHostP99Ms: s3a.p99, allHostsP50Ms: s3.p50, allHostsP99Ms: s3.p99, maxMs: s3.max, n: s3.n, lost: three.lost },
    fail2ban: sf ? { backend: f2b!.backend, p50Ms: sf.p50, p99Ms: sf.p99, maxMs: sf.max, n: sf.n, lost: f2b!.lost } : null,
    ratioP50: sf ? round(sf.p50 / s1.p50) : null,
    ratioP99: sf ? round(sf.p99 / s1.p99) : null,
  }),
);
process.exit(0);
