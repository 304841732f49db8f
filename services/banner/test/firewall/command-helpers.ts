import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { createLogger, loadConfig, type JailConfig, type Logger } from '@portcullis/shared';
import type { BanEntry, BannedAddress, FirewallBackend, JailEnforcement } from '../../src/firewall/backend.js';
import { parseServices } from '../../src/firewall/etc-services.js';
import { planJailEnforcement } from '../../src/firewall/jail-enforcement.js';
import { createFirewallRegistry, type FirewallRegistry } from '../../src/firewall/registry.js';

export const SERVICES = parseServices('ssh 22/tcp\nhttp 80/tcp\nhttps 443/tcp\ndomain 53/tcp\ndomain 53/udp\n');

/** A temporary /etc/fail2ban-style directory: `files` relative to it, `jail.conf` made from the directory's path. */
export function configDir(files: Record<string, string>, jailConf: (dir: string) => string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pc-actions-'));
  mkdirSync(path.join(dir, 'action.d'));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  writeFileSync(path.join(dir, 'jail.conf'), `[DEFAULT]\nenabled = true\nfilter =\nlogpath = /dev/null\n\n${jailConf(dir)}`);
  return dir;
}

export function jailsIn(dir: string): JailConfig[] {
  return [...loadConfig(dir, { hostName: 'testhost' }).jails];
}

export function enforcementsIn(dir: string): JailEnforcement[] {
  return jailsIn(dir).map((j) => planJailEnforcement(j, { services: SERVICES, configDir: dir }));
}

/** A logger whose JSON lines are kept for assertions. */
export function capturedLogger(): { log: Logger; lines: () => Record<string, unknown>[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  const log = createLogger({ service: 'test', level: 'debug', destination });
  return { log, lines: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

/**
 * A kernel backend kept in memory, for tests of what the jail-actions combiner sends where (the
 * real kernel backends have their own namespace tests, and the combiner one of its own).
 */
export class MemoryBackend implements FirewallBackend {
  readonly name = 'memory';
  readonly calls: string[] = [];
  jails: string[] = [];
  private readonly held = new Map<string, number | null>();

  async setup(jails: JailEnforcement[]): Promise<void> {
    this.jails = jails.map((j) => j.jail);
    this.calls.push(`setup ${this.jails.join(',')}`);
  }
  async ban(entries: BanEntry[]): Promise<void> {
    for (const e of entries) this.held.set(`${e.jail} ${e.ip}`, e.timeoutSec);
    this.calls.push(`ban ${entries.map((e) => `${e.jail}/${e.ip}`).join(',')}`);
  }
  async unban(entries: { jail: string; ip: string }[]): Promise<void> {
    for (const e of entries) this.held.delete(`${e.jail} ${e.ip}`);
    this.calls.push(`unban ${entries.map((e) => `${e.jail}/${e.ip}`).join(',')}`);
  }
  async list(jail?: string): Promise<BannedAddress[]> {
    return [...this.held]
      .map(([k, t]) => ({ jail: k.split(' ')[0]!, ip: k.split(' ')[1]!, expiresSec: t }))
      .filter((e) => jail === undefined || e.jail === jail);
  }
  async reconcile(desired: BanEntry[]): Promise<void> {
    this.held.clear();
    for (const e of desired) this.held.set(`${e.jail} ${e.ip}`, e.timeoutSec);
    this.calls.push(`reconcile ${desired.map((e) => `${e.jail}/${e.ip}`).join(',')}`);
  }
  async teardown(): Promise<void> {
    this.held.clear();
    this.calls.push('teardown');
  }
  close(): void {
    this.calls.push('close');
  }
}

export function memoryRegistry(backend: MemoryBackend): FirewallRegistry {
  return createFirewallRegistry({ memory: async () => backend });
}
