/** Where a value came from, so errors can point at file and line. */
export interface SourceRef {
  file: string;
  line: number;
}

/** One key of an INI section, with the raw (uninterpolated) value and where it was set. */
export interface IniEntry {
  value: string;
  ref: SourceRef;
}

/** One section's keys (lower-cased, as fail2ban's configparser stores them); `ref` is where its header first appeared. */
export type IniSection = Map<string, IniEntry> & { ref?: SourceRef };

/** Sections in file order; keys keep their last assignment (later files override earlier). */
export type IniSections = Map<string, IniSection>;

/** `name[key=value, ...]` as used by `filter =` and `action =`. */
export interface NamedOptions {
  name: string;
  options: Record<string, string>;
}

/** A jail after [DEFAULT] inheritance and interpolation, validated. Times are in seconds. */
export interface JailConfig {
  name: string;
  enabled: boolean;
  filter: NamedOptions;
  /** Expanded later by the collector (globs stay globs here). */
  logpath: string[];
  /** Paths written with fail2ban's trailing `head` / `tail` marker (`logpath = /var/log/x.log tail`). */
  logpathStart?: Record<string, 'head' | 'tail'>;
  backend: string;
  journalmatch: string;
  maxretry: number;
  findtime: number;
  /** Seconds; -1 means permanent. */
  bantime: number;
  /** Addresses, CIDR ranges and host names that are never banned. */
  ignoreip: string[];
  ignoreself: boolean;
  port: string;
  protocol: string;
  banaction: string;
  banactionAllports: string;
  /** `action =` lines, each parsed as name[options]. */
  actions: NamedOptions[];
  /** Read the whole file on first start instead of from its end. */
  fromStart: boolean;
  /** Every option of the jail after interpolation, for filters and actions that need more. */
  options: Record<string, string>;
  ref: SourceRef;
  /**
   * Set only on a disabled jail whose options do not validate: like fail2ban, a disabled jail is not
   * an error; the failing fields hold their defaults and this says what is wrong.
   */
  configError?: string;
}

/** Portcullis' own settings (portcullis.conf / portcullis.local, section [portcullis]). */
export interface PortcullisSettings {
  /** Host name used on the bus; defaults to os.hostname(). */
  host: string;
  /** nats://... ; empty means "start a local nats-server" (portcullis up) or "read state/runtime.json". */
  natsUrl: string;
  redisUrl: string;
  /** Firewall backend for banner: nftables (default) or iptables. */
  firewall: string;
  /** nftables table name owned by banner. */
  nftTable: string;
  /** OTLP/HTTP traces endpoint; empty disables export. */
  otlpEndpoint: string;
  logLevel: string;
  /** Every key of [portcullis] after interpolation, including ones this version does not know. */
  options?: Record<string, string>;
}

export interface PortcullisConfig {
  dir: string;
  settings: PortcullisSettings;
  /** Enabled and disabled jails, in file order. */
  jails: JailConfig[];
}
