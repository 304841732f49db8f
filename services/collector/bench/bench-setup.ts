import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { connectBus, createLogger, ensureStreams, STREAMS, subjectFor, SUBJECTS, type Bus, type LogBatchV1 } from '@portcullis/shared';
import { CollectorProcess, writeCollectorConfig } from '../test/service/collector-process.js';

export const LOGS_STREAM = STREAMS.logs.name;

export async function benchBus(natsUrl: string): Promise<Bus> {
  const bus = await connectBus({ url: natsUrl, name: 'collector-bench', log: createLogger({ service: 'collector-bench', level: 'error' }) });
  await ensureStreams(bus);
  return bus;
}

export function linesSubject(host: string): string {
  return subjectFor(SUBJECTS.logLines, host);
}

/** Starts the real collector process (src/main.ts) tailing one file, with its own config and state. */
export async function startBenchCollector(dir: string, natsUrl: string, host: string, logPath: string, fromStart: boolean, nodeArgs: string[] = []): Promise<CollectorProcess> {
  const configDir = join(dir, `${host}-config`);
  const stateDir = join(dir, `${host}-state`);
  mkdirSync(stateDir, { recursive: true });
  writeCollectorConfig(configDir, { natsUrl, host, jails: [{ name: 'sshd', logpath: logPath, fromStart }] });
  return CollectorProcess.start(configDir, stateDir, join(dir, `${host}.log`), { timeoutMs: 60_000, nodeArgs });
}

export function decodeBatch(data: Uint8Array): LogBatchV1 {
  return JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8')) as LogBatchV1;
}
