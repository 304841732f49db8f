import type { Origin, PortcullisError } from '@portcullis/shared';

/** The current ban of one address in one jail. Times are epoch ms, bantime is in seconds. */
export interface BanRecord {
  jail: string;
  ip: string;
  /** When the ban was decided. */
  at: number;
  /** Ban end; null = permanent. */
  until: number | null;
  /** Seconds; -1 = permanent. */
  bantime: number;
  origin: Origin;
  reason: string;
  /** User or application that asked, for manual bans. */
  by?: string;
  /** Host that reported the failure which decided a log ban. */
  host?: string;
  /** Failures in the window when the ban was decided (0 for manual bans). */
  failures: number;
  /** Matched log lines that led to the ban, oldest first, bounded. */
  matches: string[];
  /** Bans of this address in this jail within the history window, this one included. */
  banCount: number;
}

/** What enforcement needs of a running ban (see BanStore.activeBanEnds). */
export type BanEnd = Pick<BanRecord, 'jail' | 'ip' | 'until'>;

/**
 * How a ban's time grows with the address's previous bans; the escalation module's EscalationPolicy
 * is one. The store reads the previous-ban count atomically with the ban decision.
 */
export interface Escalation {
  readonly increment: boolean;
  /** Count the address's bans in every jail, not only this one. */
  readonly overallJails: boolean;
  /** Seconds, -1 = permanent; rnd returns [0, 1). */
  banTimeFor(previousBanCount: number, rnd: () => number): number;
}

/**
 * The fleet-wide dynamic trust list as the store needs it: a ban is never decided with a trust
 * list older than the one in Redis (see DynamicTrust, which implements this).
 */
export interface TrustGate {
  /** Version of the entries currently loaded. */
  version(): number;
  /** Loads the current entries (and version) from Redis. */
  refresh(): Promise<void>;
  isTrusted(ip: string): boolean;
}

export interface FailureInput {
  /** Unique per failure: replays of the same id are counted once. */
  eventId: string;
  jail: string;
  ip: string;
  /** Log time of the failure (epoch ms). */
  at: number;
  maxretry: number;
  /** Seconds. */
  findtime: number;
  /** Seconds; negative = permanent. */
  bantime: number;
  matches?: string[];
  /** Origin given to a ban this failure decides: 'log' for our matcher, 'external' for apps. */
  origin: Origin;
  /** Host that saw the failure. */
  host: string;
  /** Reason for a ban this failure decides; defaults to a maxretry/findtime summary. */
  reason?: string;
  /** The jail's escalation; without it (or with increment off) a ban lasts `bantime`. */
  escalation?: Escalation;
}

export interface FailureResult {
  /** False when the event id was already seen or the failure is older than findtime. */
  counted: boolean;
  /** Failures of this address in the window after this call (the deciding count when it bans). */
  failures: number;
  /** Non-null exactly once: for the call that decided the ban. */
  ban: BanRecord | null;
  /** True when the ban was not decided because the fleet-wide trust list now covers the address. */
  trusted?: boolean;
}

/** One failure of a FailureBatchInput: what FailureInput holds besides the jail's settings. */
export interface BatchFailure {
  /** Unique per failure: replays of the same id are counted once. */
  eventId: string;
  ip: string;
  /** Log time of the failure (epoch ms). */
  at: number;
  matches?: string[];
  /** Origin given to a ban this failure decides: 'log' for our matcher, 'external' for apps. */
  origin: Origin;
  /** Host that saw the failure. */
  host: string;
}

/** Many failures of one jail, recorded as recordFailure would record them one after the other. */
export interface FailureBatchInput {
  jail: string;
  maxretry: number;
  /** Seconds. */
  findtime: number;
  /** Seconds; negative = permanent. */
  bantime: number;
  /** Reason for the bans they decide; defaults to a maxretry/findtime summary. */
  reason?: string;
  /** The jail's escalation; without it (or with increment off) a ban lasts `bantime`. */
  escalation?: Escalation;
  failures: readonly BatchFailure[];
}

export interface FailureBatchResult {
  /** One per failure, in order; null when it was not recorded (see `error`): record it again later. */
  results: (FailureResult | null)[];
  /** Why some failures were not recorded (Redis unavailable): the first such error. */
  error?: PortcullisError;
}

export interface ManualBanInput {
  /** Seconds; negative = permanent. With `escalation`, the ban time of a first ban. */
  bantime: number;
  /** Escalate a new ban like a log ban (for a ban without an explicit ban time). */
  escalation?: Escalation;
  origin: Origin;
  reason: string;
  by?: string;
  matches?: string[];
}

export interface ManualBanResult {
  ban: BanRecord;
  /**
   * created: a new ban; extended: the address was already banned and the new end is later, so the
   * record now carries the new until/bantime; unchanged: already banned at least as long.
   */
  status: 'created' | 'extended' | 'unchanged';
}

export interface UnbanInput {
  origin: Origin;
  by?: string;
  /** For the audit log; default 'manual unban'. */
  reason?: string;
}

/** A recidive-like jail, fed every ban of the other jails as one failure (see feedRecidive). */
export interface RecidiveTarget {
  jail: string;
  maxretry: number;
  /** Seconds. */
  findtime: number;
  /** Seconds; negative = permanent. */
  bantime: number;
  escalation?: Escalation;
}

export interface TrustInput {
  origin: Origin;
  by?: string;
  /** For the audit log; default 'moved to trusted'. */
  reason?: string;
}

export interface TrustAndUnbanResult {
  /** The canonical entry stored (address or CIDR range). */
  entry: string;
  /** Trust-list version after the change. */
  version: number;
  /** Every ban removed, in every jail (running or expired-but-unswept). */
  removed: BanRecord[];
}

export interface TrustedEntry {
  entry: string;
  at: number;
  origin: Origin;
  by?: string;
}

export interface JailStoreStatus {
  currentlyFailed: number;
  totalFailed: number;
  currentlyBanned: number;
  totalBanned: number;
  bannedIps: string[];
  failedIps: string[];
}

export interface OffenceHistory {
  banCount: number;
  lastBanAt: number | null;
  lastUnban: { at: number; origin: Origin; by?: string } | null;
}
