import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PortcullisError } from './errors.js';

/**
 * What `portcullis up` writes into its state directory so the other commands (and services started
 * separately) find the stack it runs: the same config and state defaults lead to the same URLs.
 */
export interface RuntimeInfo {
  pid: number;
  natsUrl: string;
  redisUrl: string;
  startedAt: number;
  configDir: string;
  /** Local servers `up` started (absent when URLs were configured). */
  localPids?: { nats?: number; redis?: number };
}

export const DEFAULT_CONFIG_DIR = '/etc/portcullis';
export const DEFAULT_STATE_DIR = '/var/lib/portcullis';

const RUNTIME_FILE = 'runtime.json';

export function writeRuntimeInfo(stateDir: string, info: RuntimeInfo): void {
  mkdirSync(stateDir, { recursive: true });
  const tmp = join(stateDir, `${RUNTIME_FILE}.tmp`);
  writeFileSync(tmp, JSON.stringify(info, null, 2) + '\n', { mode: 0o600 });
  renameSync(tmp, join(stateDir, RUNTIME_FILE));
}

export function readRuntimeInfo(stateDir: string): RuntimeInfo | undefined {
  try {
    const info = JSON.parse(readFileSync(join(stateDir, RUNTIME_FILE), 'utf8')) as RuntimeInfo;
    if (typeof info.natsUrl !== 'string' || typeof info.redisUrl !== 'string') return undefined;
    return info;
  } catch {
    return undefined;
  }
}

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * NATS and Redis URLs for a command or a separately started service: the configured ones win;
 * otherwise those of the stack `portcullis up` runs for this state directory.
 */
export function resolveEndpoints(settings: { natsUrl: string; redisUrl: string }, stateDir: string): { natsUrl: string; redisUrl: string } {
  if (settings.natsUrl && settings.redisUrl) return { natsUrl: settings.natsUrl, redisUrl: settings.redisUrl };
  const info = readRuntimeInfo(stateDir);
  if (!info || !isProcessAlive(info.pid)) {
    throw new PortcullisError(
      'PC_STACK_NOT_RUNNING',
      `no running Portcullis found: set nats_url and redis_url in portcullis.local, or start it with "portcullis up --state ${stateDir}"`,
    );
  }
  return { natsUrl: settings.natsUrl || info.natsUrl, redisUrl: settings.redisUrl || info.redisUrl };
}

/** The executable name of a running process, from /proc (undefined if it is gone). */
export function processName(pid: number): string | undefined {
  try {
    const argv0 = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] ?? '';
    return argv0.split('/').pop();
  } catch {
    return undefined;
  }
}

/**
 * A stack that was killed (-9, OOM) leaves its nats-server and redis-server running with their
 * data directories locked. Before starting again, stop those: only if the recorded pid still runs
 * the same program, so a recycled pid is never signalled.
 */
export function reapStaleStack(stateDir: string): { alive: number } | undefined {
  const info = readRuntimeInfo(stateDir);
  if (!info) return undefined;
  if (info.pid !== process.pid && isProcessAlive(info.pid) && /node/.test(processName(info.pid) ?? '')) return { alive: info.pid };
  const expect: [number | undefined, RegExp][] = [
    [info.localPids?.nats, /nats-server/],
    [info.localPids?.redis, /redis-server|redis-check/],
  ];
  for (const [pid, name] of expect) {
    if (pid && isProcessAlive(pid) && name.test(processName(pid) ?? '')) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  return undefined;
}

/** Runs every registered stop function once, on SIGINT or SIGTERM, then exits. */
export function onShutdown(stop: (signal: string) => Promise<void>, log: { info(msg: string): void; error(o: object, msg: string): void }): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info(`received ${signal}; stopping`);
    stop(signal).then(
      () => process.exit(0),
      (e: unknown) => {
        log.error({ err: String(e) }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
}

/** A running service: started by its main.ts or by the all-in-one entry. */
export interface Service {
  readonly name: string;
  stop(): Promise<void>;
}
