import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { execCommand, killGroup, killGroupSync, onProcessExit, type ExecOptions, type ExecResult } from './command.js';
import { NetnsAgent } from './netns-agent-client.js';

export const NETNS_DIR = '/run/netns';
/** pct<tag>-<owner pid>-<random>: the owner pid lets a sweep tell crashed runs from live ones. */
const NAME_PATTERN = /^(pct[a-z0-9]*)-(\d+)-([0-9a-f]{8})$/;
const PREFIX_PATTERN = /^pct[a-z0-9]{0,8}$/;

export type TcpProbeResult = 'accepted' | 'refused' | 'unreachable' | 'timeout' | `error:${string}`;
export type UdpProbeResult = 'replied' | 'refused' | 'unreachable' | 'timeout' | `error:${string}`;

export interface ListenerStats {
  /** Connections accepted (TCP) or datagrams echoed (UDP). */
  count: number;
  /** Source addresses seen, oldest first (last 100). */
  peers: string[];
}

/** A TCP or UDP server running inside a namespace; TCP accepts and closes, UDP echoes. */
export interface NetnsListener {
  readonly port: number;
  stats(): Promise<ListenerStats>;
  close(): Promise<void>;
}

/** A network namespace this test process created; dispose() deletes it and everything running in it. */
export class Netns {
  private readonly children = new Set<ChildProcess>();
  private agent: Promise<NetnsAgent> | undefined;
  private disposed = false;
  private readonly onParentExit = (): void => this.disposeSync();
  private readonly removeExitHook: () => void;

  private constructor(readonly name: string) {
    this.removeExitHook = onProcessExit(this.onParentExit);
  }

  /** Use createNetns(); this only wraps a namespace that already exists. */
  static adopt(name: string): Netns {
    return new Netns(name);
  }

  /** Runs `ip netns exec <ns> cmd args` to completion. Rejects on a non-zero exit unless check is false. */
  exec(cmd: string, args: readonly string[] = [], opts: ExecOptions = {}): Promise<ExecResult> {
    this.assertLive();
    return execCommand('ip', ['netns', 'exec', this.name, cmd, ...args], opts);
  }

  /** Starts a long-running command in the namespace (own process group); dispose() kills it. */
  spawn(cmd: string, args: readonly string[] = [], opts: SpawnOptions = {}): ChildProcess {
    this.assertLive();
    // `ip netns exec` execs the command in place, so the pid is the command's own.
    const child = spawn('ip', ['netns', 'exec', this.name, cmd, ...args], { stdio: 'pipe', ...opts, detached: true });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    child.once('error', () => this.children.delete(child));
    return child;
  }

  /** A TCP server on `port` (0 = any) that accepts and closes; no addr = every IPv4 and IPv6 address. */
  async listenTcp(port: number, addr?: string): Promise<NetnsListener> {
    return this.listen('listenTcp', port, addr);
  }

  /** A UDP echo server on `port` (0 = any); no addr = every IPv4 and IPv6 address. */
  async listenUdp(port: number, addr?: string): Promise<NetnsListener> {
    return this.listen('listenUdp', port, addr);
  }

  /**
   * A TCP connect from inside the namespace: 'accepted' on a handshake, 'refused' on RST or ICMP
   * port-unreachable (fast), 'unreachable' on other ICMP errors, 'timeout' when packets are dropped.
   */
  async probeTcp(host: string, port: number, timeoutMs = 1000): Promise<TcpProbeResult> {
    const agent = await this.getAgent();
    return agent.request<TcpProbeResult>('probeTcp', { host, port, timeoutMs }, timeoutMs + 5000);
  }

  /** True only when a TCP handshake with host:port completes within timeoutMs. */
  async canConnect(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
    return (await this.probeTcp(host, port, timeoutMs)) === 'accepted';
  }

  /** Sends one datagram and waits for the echo from a listenUdp server. */
  async probeUdp(host: string, port: number, timeoutMs = 1000): Promise<UdpProbeResult> {
    const agent = await this.getAgent();
    return agent.request<UdpProbeResult>('probeUdp', { host, port, timeoutMs }, timeoutMs + 5000);
  }

  /** Kills everything started in the namespace, then deletes it. Idempotent. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.removeExitHook();
    const agent = this.agent;
    this.agent = undefined;
    await Promise.all([
      ...[...this.children].map((c) => killGroup(c)),
      agent?.then((a) => a.kill()).catch(() => undefined),
    ]);
    await deleteNetns(this.name);
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  private disposeSync(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const child of this.children) killGroupSync(child);
    // The agent dies on its own when our end of its stdin closes; the namespace needs deleting.
    try {
      execFileSync('ip', ['netns', 'delete', this.name], { stdio: 'ignore' });
    } catch {
      // nothing more can be done while exiting; sweepStaleNetns() catches it later
    }
  }

  private async listen(op: 'listenTcp' | 'listenUdp', port: number, addr: string | undefined): Promise<NetnsListener> {
    const agent = await this.getAgent();
    const { id, port: bound } = await agent.request<{ id: number; port: number }>(op, { port, host: addr }, 10_000);
    return {
      port: bound,
      stats: () => agent.request<ListenerStats>('stats', { listener: id }, 10_000),
      close: async () => {
        await agent.request('close', { listener: id }, 10_000);
      },
    };
  }

  private getAgent(): Promise<NetnsAgent> {
    this.assertLive();
    if (!this.agent) {
      const started = NetnsAgent.start(this.name);
      this.agent = started;
      started.catch(() => {
        if (this.agent === started) this.agent = undefined;
      });
    }
    return this.agent;
  }

  private assertLive(): void {
    if (this.disposed) throw new Error(`network namespace ${this.name} has been disposed`);
  }
}

/** A fresh namespace named `<prefix>-<pid>-<random>` with loopback up. The caller must dispose() it. */
export async function createNetns(prefix = 'pct'): Promise<Netns> {
  if (!PREFIX_PATTERN.test(prefix)) {
    throw new Error(`netns prefix ${JSON.stringify(prefix)} must be "pct" plus up to 8 lowercase letters or digits`);
  }
  const name = `${prefix}-${process.pid}-${randomBytes(4).toString('hex')}`;
  await execCommand('ip', ['netns', 'add', name]);
  const netns = Netns.adopt(name);
  try {
    await execCommand('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  } catch (e) {
    await netns.dispose();
    throw e;
  }
  return netns;
}

export interface LinkOptions {
  /** IPv4 address with prefix for a's end, e.g. 192.0.2.1/24. */
  aAddr?: string;
  bAddr?: string;
  /** IPv6 address with prefix for a's end, e.g. 2001:db8::1/64 (added without DAD, usable at once). */
  aAddr6?: string;
  bAddr6?: string;
}

export interface NetnsLink {
  /** Interface names of the veth ends inside a and b. */
  aIf: string;
  bIf: string;
}

/** A veth pair with one end in each namespace, addressed and up. */
export async function linkNetns(a: Netns, b: Netns, opts: LinkOptions = {}): Promise<NetnsLink> {
  const id = randomBytes(3).toString('hex');
  // Interface names are limited to 15 characters.
  const link = { aIf: `pv${id}a`, bIf: `pv${id}b` };
  await execCommand('ip', ['link', 'add', link.aIf, 'netns', a.name, 'type', 'veth', 'peer', 'name', link.bIf, 'netns', b.name]);
  await Promise.all([
    execCommand('ip', ['-n', a.name, 'link', 'set', link.aIf, 'up']),
    execCommand('ip', ['-n', b.name, 'link', 'set', link.bIf, 'up']),
  ]);
  // Addresses only once both ends are up: IPv6 addresses added before carrier answer neighbour
  // solicitation late, which costs the first connection a 1 s retransmit.
  await Promise.all([addAddresses(a, link.aIf, opts.aAddr, opts.aAddr6), addAddresses(b, link.bIf, opts.bAddr, opts.bAddr6)]);
  return link;
}

async function addAddresses(netns: Netns, ifname: string, addr4: string | undefined, addr6: string | undefined): Promise<void> {
  const commands = [
    ...(addr4 ? [`addr add ${addr4} dev ${ifname}`] : []),
    ...(addr6 ? [`addr add ${addr6} dev ${ifname} nodad`] : []),
  ];
  if (commands.length === 0) return;
  await execCommand('ip', ['-n', netns.name, '-batch', '-'], { input: `${commands.join('\n')}\n` });
}

/** Names of all network namespaces on the machine. */
export async function listNetns(): Promise<string[]> {
  try {
    return await readdir(NETNS_DIR);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

export interface SweepOptions {
  /** `pct*` namespaces not named by this harness are deleted only when idle and older than this. Default 10 min. */
  foreignMinAgeMs?: number;
  log?: (msg: string) => void;
  /** Only consider names this accepts (tests use it to stay clear of other people's namespaces). */
  filter?: (name: string) => boolean;
}

/**
 * Deletes `pct*` namespaces left by crashed runs: ours when the process that created them is gone,
 * others (hand-made or another naming) only when nothing runs inside and they are old, since a
 * colleague's run may be using them right now.
 */
export async function sweepStaleNetns(opts: SweepOptions = {}): Promise<string[]> {
  const foreignMinAgeMs = opts.foreignMinAgeMs ?? 10 * 60_000;
  const swept: string[] = [];
  for (const name of await listNetns()) {
    if (!name.startsWith('pct') || (opts.filter && !opts.filter(name))) continue;
    try {
      if (!(await isStale(name, foreignMinAgeMs))) continue;
      await deleteNetns(name);
      swept.push(name);
      opts.log?.(`deleted stale network namespace ${name}`);
    } catch (e) {
      opts.log?.(`could not sweep network namespace ${name}: ${(e as Error).message}`);
    }
  }
  return swept;
}

async function isStale(name: string, foreignMinAgeMs: number): Promise<boolean> {
  const owner = NAME_PATTERN.exec(name)?.[2];
  if (owner !== undefined) return !isProcessAlive(Number(owner));
  const age = Date.now() - (await stat(join(NETNS_DIR, name))).mtimeMs;
  return age >= foreignMinAgeMs && (await pidsIn(name)).length === 0;
}

/** Kills whatever still runs inside, then removes the namespace. Missing namespaces are fine. */
async function deleteNetns(name: string): Promise<void> {
  for (const pid of await pidsIn(name)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // exited meanwhile
    }
  }
  const result = await execCommand('ip', ['netns', 'delete', name], { check: false });
  if (result.code !== 0 && !/No such file/i.test(result.stderr)) {
    throw new Error(`ip netns delete ${name} failed: ${result.stderr.trim()}`);
  }
}

async function pidsIn(name: string): Promise<number[]> {
  const result = await execCommand('ip', ['netns', 'pids', name], { check: false });
  if (result.code !== 0) return [];
  return result.stdout
    .split('\n')
    .map((l) => Number(l.trim()))
    .filter((p) => Number.isInteger(p) && p > 0);
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
