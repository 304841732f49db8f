import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { Netns } from '../../../../tests/harness/netns.js';
import { waitFor } from './fleet.js';

export const FAIL2BAN_TABLE = 'f2b-table';

export function fail2banInstalled(): boolean {
  return existsSync('/usr/bin/fail2ban-server') && existsSync('/usr/bin/fail2ban-client');
}

/**
 * Debian's fail2ban running in the foreground inside a namespace of our own, with its own config
 * directory (a copy of /etc/fail2ban), socket, pidfile and in-memory database: it only ever sees
 * that namespace's firewall. One sshd jail on a temp log with the nftables-multiport banaction.
 */
export class Fail2ban {
  private child: ChildProcess | undefined;
  readonly dir: string;
  readonly log: string;
  private readonly sock: string;
  private readonly conf: string;

  constructor(
    readonly ns: Netns,
    opts: { maxretry: number; backend?: string },
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'pct-f2b-'));
    this.conf = join(this.dir, 'conf');
    this.log = join(this.dir, 'auth.log');
    this.sock = join(this.dir, 'f2b.sock');
    cpSync('/etc/fail2ban', this.conf, { recursive: true });
    rmSync(join(this.conf, 'jail.d'), { recursive: true, force: true });
    writeFileSync(this.log, '');
    writeFileSync(
      join(this.conf, 'fail2ban.local'),
      `[DEFAULT]\nloglevel = INFO\nlogtarget = ${join(this.dir, 'fail2ban.log')}\nsocket = ${this.sock}\npidfile = ${join(this.dir, 'f2b.pid')}\ndbfile = :memory:\n`,
    );
    writeFileSync(
      join(this.conf, 'jail.local'),
      `[DEFAULT]\nbanaction = nftables-multiport\nbanaction_allports = nftables-allports\nbackend = ${opts.backend ?? 'auto'}\n` +
        `\n[sshd]\nenabled = true\nport = ssh\nlogpath = ${this.log}\nmaxretry = ${opts.maxretry}\nfindtime = 10m\nbantime = 1h\n`,
    );
  }

  async start(): Promise<void> {
    this.child = this.ns.spawn('fail2ban-client', ['-c', this.conf, '-s', this.sock, '-p', join(this.dir, 'f2b.pid'), '-x', '-f', 'start'], {
      stdio: ['ignore', 'ignore', 'ignore'],
    });
    await waitFor(async () => (await this.client(['status', 'sshd'])).code === 0, 30_000, () => `fail2ban did not start:\n${this.serverLog().slice(-2000)}`);
  }

  client(args: string[], timeoutMs = 600_000) {
    return this.ns.exec('fail2ban-client', ['-c', this.conf, '-s', this.sock, ...args], { check: false, timeoutMs });
  }

  serverLog(): string {
    try {
      return readFileSync(join(this.dir, 'fail2ban.log'), 'utf8');
    } catch {
      return '';
    }
  }

  /** How fail2ban watches the log (it logs the backend it picked). */
  backendUsed(): string {
    const m = /Jail 'sshd' uses (\w+)/.exec(this.serverLog());
    return m?.[1] ?? 'unknown';
  }

  async stop(): Promise<void> {
    await this.client(['stop'], 30_000).catch(() => undefined);
    const c = this.child;
    if (c && c.exitCode === null && c.signalCode === null) {
      const exited = new Promise<void>((r) => c.once('exit', () => r()));
      c.kill('SIGKILL');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
