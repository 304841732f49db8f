import { promises as dns } from 'node:dns';
import { describeError, PortcullisError, type Clock, type SourceRef } from '@portcullis/shared';
import { createIgnoreCommand, type IgnoreCommand, type IgnoreCommandOptions } from './ignore-command.js';
import { AddressSet } from './address-set.js';
import { normalizeIp, parseCidr } from './normalize-ip.js';
import { interfaceAddresses, LOOPBACK_RANGES, type InterfaceLister } from './self-addresses.js';
import { parseTrustEntries } from './trust-entries.js';

export type Resolver = (name: string) => Promise<string[]>;

export interface TrustListOptions {
  /** Trust loopback and every address of this host's interfaces. */
  ignoreself: boolean;
  /** Host name -> addresses. Default: dns.promises.lookup(name, { all: true }). */
  resolver?: Resolver;
  /** How often host names and interface addresses are refreshed. Default 5 minutes. */
  reresolveMs?: number;
  clock: Clock;
  /** Default os.networkInterfaces. */
  interfaces?: InterfaceLister;
  /** A host name that did not resolve (its previous addresses stay trusted), or an ignorecommand error. */
  onError?: (e: PortcullisError) => void;
  /** fail2ban's ignorecommand (empty = none), checked by check() only: it runs a process. */
  ignorecommand?: string;
  /** Timeout, cache and concurrency of the ignorecommand; `ref` is where it was set. */
  ignoreCommandOptions?: Omit<IgnoreCommandOptions, 'clock'> & { ref?: SourceRef };
  /** The fleet-wide dynamic trust list (see DynamicTrust), shared by all jails. */
  dynamic?: { isTrusted(ip: string): boolean };
}

export type TrustReason = 'ignoreip' | 'dynamic' | 'ignorecommand';

export interface TrustVerdict {
  trusted: boolean;
  /** What trusts it: ignoreip (also ignoreself), the fleet-wide list, or the ignorecommand. */
  by?: TrustReason;
}

export interface HostResolution {
  addresses: string[];
  /** The last failure, if the last attempt failed. */
  error?: string;
}

export interface TrustList {
  /**
   * ignoreip, ignoreself and the fleet-wide dynamic list, synchronously. Throws PC_ADDRESS_INVALID
   * for something that is not an address.
   */
  isTrusted(ip: string): boolean;
  /**
   * Everything isTrusted checks, then the ignorecommand (cached; an error means "not trusted" and
   * is reported to onError). Use before counting a failure, like fail2ban's filter does.
   */
  check(ip: string): Promise<TrustVerdict>;
  /** Re-resolves host names and re-reads interfaces now (joins a refresh already running). */
  refresh(): Promise<void>;
  /** Current addresses of each configured host name. */
  hosts(): ReadonlyMap<string, HostResolution>;
  /**
   * Every address and range trusted by ignoreip/ignoreself right now (host names resolved), as
   * `addr` or `addr/prefix`: what other hosts need to judge failures this host saw.
   */
  snapshot(): string[];
  stop(): void;
}

const DEFAULT_RERESOLVE_MS = 5 * 60_000;

const defaultResolver: Resolver = async (name) => (await dns.lookup(name, { all: true })).map((a) => a.address);

/**
 * ignoreip/ignoreself. Literal addresses and ranges are fixed; host names and interface addresses
 * change, so they are refreshed on a timer and also whenever the clock says the last refresh is
 * older than reresolveMs (a timer can be starved; the check costs nothing). Resolves once the first
 * resolution is done, so no trusted host can be banned while names are still unknown.
 */
export async function createTrustList(entries: readonly string[], opts: TrustListOptions): Promise<TrustList> {
  const parsed = parseTrustEntries(entries);
  const resolver = opts.resolver ?? defaultResolver;
  const reresolveMs = opts.reresolveMs ?? DEFAULT_RERESOLVE_MS;
  if (!Number.isFinite(reresolveMs) || reresolveMs <= 0) {
    throw new PortcullisError('PC_CONFIG_INVALID', `reresolveMs must be a positive number, got ${String(reresolveMs)}`);
  }

  const fixed = new AddressSet();
  for (const a of parsed.addresses) fixed.addAddress(a);
  const ranges = opts.ignoreself ? [...parsed.ranges, ...LOOPBACK_RANGES.map(parseCidr)] : parsed.ranges;
  for (const r of ranges) fixed.addSubnet(r.address, r.prefix, r.family);

  const resolved = new Map<string, HostResolution>(parsed.hosts.map((h) => [h, { addresses: [] }]));
  let hostAddresses = new Set<string>();
  let selfAddresses = new Set<string>();
  let refreshedAt = -Infinity;
  let inFlight: Promise<void> | null = null;
  let stopped = false;

  async function resolveHost(name: string): Promise<void> {
    const prev = resolved.get(name) ?? { addresses: [] };
    try {
      const list = await resolver(name);
      const addresses = [...new Set(list.map((a) => normalizeIp(a)))];
      resolved.set(name, { addresses });
    } catch (e) {
      const err = new PortcullisError('PC_CONFIG_INVALID', `ignoreip host name ${JSON.stringify(name)} did not resolve: ${describeError(e)}`, {
        cause: e,
      });
      resolved.set(name, { addresses: prev.addresses, error: describeError(e) });
      opts.onError?.(err);
    }
  }

  async function doRefresh(): Promise<void> {
    const startedAt = opts.clock.now();
    await Promise.all(parsed.hosts.map(resolveHost));
    hostAddresses = new Set([...resolved.values()].flatMap((r) => r.addresses));
    if (opts.ignoreself) selfAddresses = interfaceAddresses(opts.interfaces);
    refreshedAt = startedAt;
  }

  function refresh(): Promise<void> {
    inFlight ??= doRefresh().finally(() => {
      inFlight = null;
    });
    return inFlight;
  }

  function staticTrust(ip: string): boolean {
    if (!stopped && inFlight === null && opts.clock.now() - refreshedAt >= reresolveMs) void refresh();
    return hostAddresses.has(ip) || selfAddresses.has(ip) || fixed.has(ip);
  }

  function verdictNow(ip: string): TrustVerdict {
    if (staticTrust(ip)) return { trusted: true, by: 'ignoreip' };
    if (opts.dynamic?.isTrusted(ip)) return { trusted: true, by: 'dynamic' };
    return { trusted: false };
  }

  const isTrusted = (ipText: string): boolean => verdictNow(normalizeIp(ipText)).trusted;

  const command: IgnoreCommand | null =
    opts.ignorecommand && opts.ignorecommand.trim() !== '' ? createIgnoreCommand(opts.ignorecommand, { ...opts.ignoreCommandOptions, clock: opts.clock }) : null;

  async function check(ipText: string): Promise<TrustVerdict> {
    const ip = normalizeIp(ipText);
    const now = verdictNow(ip);
    if (now.trusted || !command) return now;
    const v = await command.check(ip);
    if (v.error) opts.onError?.(v.error);
    return v.ignored ? { trusted: true, by: 'ignorecommand' } : { trusted: false };
  }

  await refresh();
  const timer = setInterval(() => void refresh(), reresolveMs);
  timer.unref();

  return {
    isTrusted,
    check,
    refresh,
    hosts: () => resolved,
    snapshot: () => [
      ...new Set([...parsed.addresses, ...hostAddresses, ...selfAddresses, ...ranges.map((r) => `${r.address}/${r.prefix}`)]),
    ],
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
