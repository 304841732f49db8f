import { createLogger } from '@portcullis/shared';
import { defaultFlowmonConfig } from './src/config/flowmon-config.ts';
import { setUpTables } from './src/nft/setup.ts';
import { readCounters, readSources, flushSources } from './src/nft/read-nft.ts';
import { readKernelCounters } from './src/proc/snmp.ts';
import { readNetDev } from './src/proc/net-dev.ts';
import { readTcpConns } from './src/proc/tcp-conns.ts';
import { Mitigator } from './src/mitigation/mitigator.ts';
const log = createLogger({ service: 't', level: 'warn' });
const cfg = defaultFlowmonConfig();
const t = await setUpTables(cfg, [{ family: 4, addr: '127.0.0.0', prefix: 8 }], log);
const c = t!.client;
async function time(label: string, fn: () => Promise<unknown>, n = 50) {
  await fn();
  const s = performance.now();
  for (let i = 0; i < n; i++) await fn();
  console.log(label.padEnd(20), ((performance.now() - s) / n).toFixed(3), 'ms');
}
await time('readCounters', () => readCounters(c, cfg.table));
await time('kernel', () => readKernelCounters());
await time('netdev', () => readNetDev());
await time('tcpconns', () => readTcpConns(new Set([80, 443])));
await time('readSources', () => readSources(c, cfg.guardTable, 'udp'));
await time('flushSources', () => flushSources(c, cfg.guardTable, 'udp'));
const m = new Mitigator(c, cfg.guardTable, 600);
let k = 0;
await time('apply+remove', async () => { const id = `x${k++}`; await m.apply(id, { dropSources: ['192.0.2.9'], dropLevel: 'raw', limits: [] }); await m.remove(id); }, 20);
await t!.remove();
