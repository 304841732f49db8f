import type { BanDecisionV1, FlowAlertV1 } from '@portcullis/shared';
import { top, TOP_ADDRESSES, TOP_HOSTS, TOP_JAILS, type Counted, type JailCount } from '../content/summary.js';

/** The daily digest: what happened between `from` (exclusive) and `to` (inclusive). */
export interface DigestReport {
  /** The local calendar date of the digest time, YYYY-MM-DD. */
  date: string;
  from: number;
  to: number;
  bans: number;
  unbans: number;
  permanentBans: number;
  distinctAddresses: number;
  jails: JailCount[];
  otherJails: { jails: number; bans: number; unbans: number };
  topAddresses: Counted[];
  hosts: Counted[];
  origins: Counted[];
  floods: { started: number; byAttack: Counted[]; alerts: FlowAlertV1[] };
  /** Messages in the period that failed validation (not counted above). */
  invalid: number;
}

export const DIGEST_ALERTS = 20;

/** Folds decisions and flood alerts into a DigestReport, one message at a time. */
export class DigestAccumulator {
  private readonly jails = new Map<string, JailCount>();
  private readonly bannedAddresses = new Map<string, number>();
  private readonly hosts = new Map<string, number>();
  private readonly origins = new Map<string, number>();
  private readonly attacks = new Map<string, number>();
  private readonly alerts: FlowAlertV1[] = [];
  private bans = 0;
  private unbans = 0;
  private permanent = 0;
  private started = 0;
  invalid = 0;

  constructor(
    private readonly date: string,
    private readonly from: number,
    private readonly to: number,
  ) {}

  addDecision(d: BanDecisionV1): void {
    const jail = this.jails.get(d.jail) ?? { jail: d.jail, bans: 0, unbans: 0 };
    this.jails.set(d.jail, jail);
    if (d.kind === 'ban') {
      this.bans++;
      jail.bans++;
      if (d.until === null || d.bantime === -1) this.permanent++;
      bump(this.bannedAddresses, d.ip);
      bump(this.hosts, d.seenOn ?? d.decidedBy);
      bump(this.origins, d.origin);
    } else {
      this.unbans++;
      jail.unbans++;
    }
  }

  addAlert(a: FlowAlertV1): void {
    if (a.phase !== 'start') return;
    this.started++;
    bump(this.attacks, a.attack);
    if (this.alerts.length < DIGEST_ALERTS) this.alerts.push(a);
  }

  report(): DigestReport {
    const sorted = [...this.jails.values()].sort((a, b) => b.bans + b.unbans - (a.bans + a.unbans) || a.jail.localeCompare(b.jail));
    const rest = sorted.slice(TOP_JAILS);
    return {
      date: this.date,
      from: this.from,
      to: this.to,
      bans: this.bans,
      unbans: this.unbans,
      permanentBans: this.permanent,
      distinctAddresses: this.bannedAddresses.size,
      jails: sorted.slice(0, TOP_JAILS),
      otherJails: { jails: rest.length, bans: rest.reduce((n, j) => n + j.bans, 0), unbans: rest.reduce((n, j) => n + j.unbans, 0) },
      topAddresses: top(this.bannedAddresses, TOP_ADDRESSES),
      hosts: top(this.hosts, TOP_HOSTS),
      origins: top(this.origins, 10),
      floods: { started: this.started, byAttack: top(this.attacks, 10), alerts: this.alerts },
      invalid: this.invalid,
    };
  }
}

function bump(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}
