import { CONTRACTS, describeError, publishDurable, subjectFor, SUBJECTS, type Bus, type FlowAlertV1, type Logger } from '@portcullis/shared';
import type { Incident } from './detect/detector.js';
import type { SourceShare } from './mitigation/attribution.js';
import { describePlan, type MitigationPlan } from './mitigation/plan.js';

export interface AlertDetails {
  phase: FlowAlertV1['phase'];
  at: number;
  rate: number;
  topSources: readonly SourceShare[];
  plan: MitigationPlan | undefined;
  mitigatedAt?: number;
  dropped?: number;
  evidence?: Record<string, number>;
  /** Overrides the plan's description (e.g. "removed" at the end). */
  mitigationText?: string;
}

export function buildAlert(host: string, incident: Incident, d: AlertDetails): FlowAlertV1 {
  const described = d.plan ? describePlan(d.plan) : { text: 'none', entries: [] };
  const finite = (n: number): number => (Number.isFinite(n) && n > 0 ? n : 0);
  const alert: FlowAlertV1 = {
    v: 1,
    id: incident.id,
    host,
    at: d.at,
    phase: d.phase,
    attack: incident.signal.attack,
    metric: incident.signal.metric,
    rate: finite(d.rate),
    baseline: finite(incident.baseline),
    topSources: d.topSources.slice(0, 10).map((s) => ({ ip: s.ip, share: Math.min(1, Math.max(0, s.share)) })),
    mitigation: d.mitigationText ?? described.text,
    threshold: finite(incident.threshold),
    onsetAt: Math.max(0, Math.round(incident.onsetAt)),
  };
  if (described.entries.length > 0) alert.mitigations = described.entries.slice(0, 32);
  if (d.mitigatedAt !== undefined) alert.mitigatedAt = Math.round(d.mitigatedAt);
  if (d.dropped !== undefined) alert.dropped = Math.max(0, Math.round(d.dropped));
  if (d.evidence) {
    const ev: Record<string, number> = {};
    for (const [k, v] of Object.entries(d.evidence)) ev[k] = finite(v);
    alert.evidence = ev;
  }
  return alert;
}

/**
 * Publishes alerts on JetStream one after another, in order, without holding up the caller: the
 * measuring loop never waits for the server's acknowledgement.
 */
export class AlertPublisher {
  private chain: Promise<void> = Promise.resolve();
  private seq = 0;

  constructor(
    private readonly bus: Bus,
    private readonly host: string,
    private readonly log: Logger,
  ) {}

  publish(alert: FlowAlertV1): void {
    const subject = subjectFor(SUBJECTS.flowAlerts, this.host);
    const msgId = `${alert.id}:${alert.phase}:${++this.seq}`;
    this.chain = this.chain.then(async () => {
      try {
        await publishDurable(this.bus, CONTRACTS.flowAlert, subject, alert, msgId);
      } catch (e) {
        this.log.error({ err: describeError(e), id: alert.id, phase: alert.phase }, 'flood alert could not be published');
      }
    });
  }

  /** Resolves when every alert handed over so far has been published (or failed). */
  flush(): Promise<void> {
    return this.chain;
  }
}
