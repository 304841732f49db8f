import { createNftClient, describeError, type Logger, type NftClient } from '@portcullis/shared';
import type { FlowmonConfig } from '../config/flowmon-config.js';
import type { ServicePort } from '../config/service-ports.js';
import type { TrustedNet } from '../mitigation/trusted.js';
import { toNftCommands } from './flow-json.js';
import { guardCommands } from './guard-table.js';
import { dropMeasureCommands, measureCommands } from './measure-table.js';

export interface FlowTables {
  client: NftClient;
  /** Whether the guard table is in place (mitigation on). */
  guard: boolean;
  /** Creates both tables again from scratch (after someone flushed the ruleset). */
  recreate(): Promise<void>;
  remove(): Promise<void>;
}

/** The ports counted one by one: the service ports, plus the HTTP ports when not among them. */
export function countedPorts(cfg: Pick<FlowmonConfig, 'servicePorts' | 'httpPorts'>): ServicePort[] {
  const out = [...cfg.servicePorts];
  for (const port of cfg.httpPorts) if (!out.some((p) => p.proto === 'tcp' && p.port === port)) out.push({ port, proto: 'tcp' });
  return out;
}

/**
 * Creates flowmon's two tables from scratch (whatever an earlier run left is replaced). Returns
 * undefined, having logged why, when nftables cannot be used: flowmon then measures /proc only.
 */
export async function setUpTables(cfg: FlowmonConfig, trusted: readonly TrustedNet[], log: Logger): Promise<FlowTables | undefined> {
  let client: NftClient;
  try {
    client = await createNftClient({ onFallback: (reason) => log.warn({ reason }, 'libnftables unavailable; using the nft binary (slower reads)') });
  } catch (e) {
    log.error({ err: describeError(e) }, 'nftables is not usable: flowmon measures /proc only and cannot mitigate');
    return undefined;
  }
  const create = async (): Promise<void> => {
    await client.run(toNftCommands(measureCommands(cfg.table, countedPorts(cfg))));
    if (cfg.mitigate) await client.run(toNftCommands(guardCommands({ table: cfg.guardTable, trusted, samplePercent: cfg.sourceSamplePercent, synSamplePercent: cfg.synSamplePercent })));
    else await client.run(toNftCommands(dropMeasureCommands(cfg.guardTable)));
  };
  try {
    await create();
  } catch (e) {
    log.error({ err: describeError(e) }, 'flowmon tables could not be created: flowmon measures /proc only and cannot mitigate');
    await client.run(toNftCommands([...dropMeasureCommands(cfg.table), ...dropMeasureCommands(cfg.guardTable)])).catch(() => undefined);
    client.close();
    return undefined;
  }
  log.info({ transport: client.transport, table: cfg.table, guard: cfg.mitigate ? cfg.guardTable : null }, 'flowmon tables ready');
  return {
    client,
    guard: cfg.mitigate,
    recreate: create,
    remove: async () => {
      try {
        await client.run(toNftCommands([...dropMeasureCommands(cfg.table), ...dropMeasureCommands(cfg.guardTable)]));
      } finally {
        client.close();
      }
    },
  };
}
