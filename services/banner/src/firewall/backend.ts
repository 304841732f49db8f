import type { Logger } from '@portcullis/shared';
import type { NftTransport } from '@portcullis/shared';
import type { CommandActionDefinition } from './command/action-definition.js';

export type L4Proto = 'tcp' | 'udp' | 'sctp' | 'udplite';

/** An inclusive port range; a single port has from === to. */
export interface PortRange {
  from: number;
  to: number;
}

/** 'all' = no port match. A list is sorted, merged and never empty. */
export type PortSpec = 'all' | PortRange[];

/** 'all' = no protocol match (with a port list it means every protocol that has ports). */
export type ProtocolSpec = 'all' | L4Proto[];

export interface JailEnforcement {
  jail: string;
  ports: PortSpec;
  protocols: ProtocolSpec;
  verdict: 'drop' | 'reject';
  /**
   * Registry name of the kernel backend that enforces this jail (from its banning action:
   * `nftables*` -> nftables, `iptables*` -> iptables). Absent: the configured `firewall`. null: no
   * kernel enforcement, the jail has only command actions (or only notifications).
   */
  backend?: string | null;
  /** iptables only: the chain the jump to `f2b-<jail>` goes in (fail2ban's `chain`); default INPUT. */
  chain?: string;
  /** fail2ban command actions (action.d files) the jail runs besides its kernel enforcement, in `action =` order. */
  commands?: readonly CommandActionDefinition[];
}

/** What fail2ban hands an action about a ban (its ticket); command actions use it for their tags. */
export interface BanContext {
  /** Failures that led to the ban (`<failures>`). */
  failures?: number;
  /** When the ban was decided, epoch ms (`<time>`, in seconds). */
  at?: number;
  /** The ban time in seconds, -1 = permanent (`<bantime>`); defaults to the entry's timeout. */
  bantime?: number;
  /** How many times the address has been banned in this jail, this one included (`<bancount>`). */
  banCount?: number;
  /** The matched log lines (`<matches>`, `<ipmatches>`, `<ipjailmatches>`). */
  matches?: readonly string[];
  /** Values captured by the filter's named groups, e.g. `{ user: 'root' }` for `<F-USER>`. */
  fields?: Readonly<Record<string, string>>;
}

export interface BanEntry {
  jail: string;
  ip: string;
  /** Seconds until expiry (a positive number, rounded up), or null = permanent. */
  timeoutSec: number | null;
  /** Ticket details for command actions; kernel backends ignore it. */
  context?: BanContext;
}

export interface BannedAddress {
  jail: string;
  /** Canonical form (lower-case, compressed IPv6). */
  ip: string;
  /** Whole seconds left as the kernel reports them, or null = permanent. */
  expiresSec: number | null;
}

export interface FirewallBackend {
  readonly name: string;
  /**
   * Creates (idempotently) the table/chains/sets/rules for exactly these jails, atomically. Existing
   * elements stay; sets of jails no longer listed are removed.
   */
  setup(jails: JailEnforcement[]): Promise<void>;
  /** One transaction; re-banning an existing address replaces its timeout. Jails must be set up. */
  ban(entries: BanEntry[]): Promise<void>;
  /** One transaction; addresses that are not banned are not an error. */
  unban(entries: { jail: string; ip: string }[]): Promise<void>;
  /** What the kernel holds now (for one jail or all), read back from the kernel, no setup needed. */
  list(jail?: string): Promise<BannedAddress[]>;
  /**
   * Makes the kernel hold exactly `desired` for every set-up jail: adds missing addresses, removes
   * extra ones, and rewrites those whose timeout differs. One transaction.
   */
  reconcile(desired: BanEntry[]): Promise<void>;
  /** Removes everything this backend created (uninstall, tests); not for a normal stop. */
  teardown(): Promise<void>;
  /** Releases the backend's resources (e.g. the libnftables context); kernel state stays. */
  close(): void;
}

export interface FirewallBackendOptions {
  /** The nftables table (or iptables chain prefix) this backend owns. */
  table: string;
  log: Logger;
  /** nft transport to try first; the backend falls back to the other one. */
  transport?: NftTransport;
}

export type FirewallBackendFactory = (opts: FirewallBackendOptions) => Promise<FirewallBackend>;
