import { describeError, type Bus, type Clock, type Logger, type NftClient } from '@portcullis/shared';
import { buildAlert, type AlertPublisher } from './alerts.js';
import type { FlowmonConfig } from './config/flowmon-config.js';
import type { DetectorEvent, Incident } from './detect/detector.js';
import { newConnMetric, portMetric, type Rates, type Signal } from './detect/signals.js';
import { flushSources, readSources } from './nft/read-nft.js';
import { attribute, type Attribution } from './mitigation/attribution.js';
import { PROVEN_SOURCE_ATTACKS, requestBans } from './mitigation/ban-requests.js';
import type { Mitigator } from './mitigation/mitigator.js';
import { EMPTY_PLAN, planMitigation, type MitigationPlan } from './mitigation/plan.js';
import type { Trusted } from './mitigation/trusted.js';
import type { ConnSummary } from './proc/tcp-conns.js';

/** Kernel counters quoted in a start alert as a second opinion on the nft counters. */
const EVIDENCE = ['udp_noports_ps', 'udp_in_ps', 'syncookies_sent_ps', 'listen_drops_ps', 'tcp_passive_opens_ps', 'icmp_in_ps', 'rx_pps', 'rx_drop_ps'];

export interface IncidentDeps {
  host: string;
  cfg: FlowmonConfig;
  client: NftClient | undefined;
  /** Absent when mitigation is off or nftables is unusable: detect and alert only. */
  mitigator: Mitigator | undefined;
  trusted: Trusted;
  alerts: AlertPublisher;
  bus: Bus;
  clock: Clock;
  log: Logger;
}

interface Open {
  plan: MitigationPlan;
  lastUpdate: number;
  mitigatedAt: number | undefined;
  banned: Set<string>;
}

/** Turns detector events into mitigation and alerts: start, periodic updates, end. */
export class IncidentHandler {
  private readonly open = new Map<string, Open>();

  constructor(private readonly d: IncidentDeps) {}

  async handle(e: DetectorEvent, rates: Rates, conns: ConnSummary): Promise<void> {
    switch (e.kind) {
      case 'candidate':
        // With confirmation pending, empty the sampled sources so the start reads only the flood.
        if (this.d.cfg.confirmTicks > 1 && e.signal.sourceClass && this.d.client) await this.quiet(() => flushSources(this.d.client!, this.d.cfg.guardTable, e.signal.sourceClass!));
        return;
      case 'start':
        return this.start(e.incident, rates, conns);
      case 'resume':
      case 'calm':
        return this.update(e.incident, rates, conns);
      case 'end':
        return this.end(e.incident, e.at);
    }
  }

  /** Sends an update for every active incident whose last one is older than alert_update. */
  async periodic(incidents: readonly Incident[], rates: Rates, conns: ConnSummary): Promise<void> {
    const now = this.d.clock.now();
    for (const i of incidents) {
      const o = this.open.get(i.id);
      if (o && i.state === 'active' && now - o.lastUpdate >= this.d.cfg.alertUpdateMs) await this.update(i, rates, conns);
    }
  }

  /** Ends every open incident (flowmon stopping): mitigation removed, end alerts sent. */
  async closeAll(incidents: readonly Incident[]): Promise<void> {
    for (const i of incidents) await this.end(i, this.d.clock.now(), 'removed: flowmon stopped');
  }

  private async start(i: Incident, rates: Rates, conns: ConnSummary): Promise<void> {
    const attribution = await this.attribution(i.signal, conns);
    const o: Open = { plan: EMPTY_PLAN, lastUpdate: this.d.clock.now(), mitigatedAt: undefined, banned: new Set() };
    this.open.set(i.id, o);
    await this.mitigate(i, o, attribution, rates);
    const evidence: Record<string, number> = {};
    for (const k of EVIDENCE) if (rates[k] !== undefined) evidence[k] = rates[k];
    this.d.alerts.publish(
      buildAlert(this.d.host, i, { phase: 'start', at: i.detectedAt, rate: i.rate, topSources: attribution.top, plan: o.plan, evidence, ...(o.mitigatedAt !== undefined ? { mitigatedAt: o.mitigatedAt } : {}) }),
    );
    this.d.log.warn(
      { id: i.id, attack: i.signal.attack, metric: i.signal.metric, rate: Math.round(i.rate), threshold: Math.round(i.threshold), sources: attribution.top.slice(0, 3), mitigation: o.plan },
      'flood detected',
    );
  }

  private async update(i: Incident, rates: Rates, conns: ConnSummary): Promise<void> {
    const o = this.open.get(i.id);
    if (!o) return;
    o.lastUpdate = this.d.clock.now();
    const attribution = await this.attribution(i.signal, conns);
    if (i.state === 'active') await this.mitigate(i, o, attribution, rates);
    const dropped = this.d.mitigator ? await this.quiet(() => this.d.mitigator!.dropped(i.id)) : undefined;
    this.d.alerts.publish(
      buildAlert(this.d.host, i, {
        phase: 'update',
        at: o.lastUpdate,
        rate: i.rate,
        topSources: attribution.top,
        plan: o.plan,
        ...(o.mitigatedAt !== undefined ? { mitigatedAt: o.mitigatedAt } : {}),
        ...(dropped !== undefined ? { dropped } : {}),
      }),
    );
  }

  private async end(i: Incident, at: number, text = 'removed'): Promise<void> {
    const o = this.open.get(i.id);
    this.open.delete(i.id);
    let dropped: number | undefined;
    if (this.d.mitigator?.has(i.id)) {
      dropped = await this.quiet(() => this.d.mitigator!.dropped(i.id));
      await this.quiet(() => this.d.mitigator!.remove(i.id));
    }
    this.d.alerts.publish(
      buildAlert(this.d.host, i, {
        phase: 'end',
        at,
        rate: i.rate,
        topSources: [],
        plan: o?.plan,
        mitigationText: o && o.plan !== EMPTY_PLAN ? text : 'none',
        ...(o?.mitigatedAt !== undefined ? { mitigatedAt: o.mitigatedAt } : {}),
        ...(dropped !== undefined ? { dropped } : {}),
      }),
    );
    this.d.log.info({ id: i.id, attack: i.signal.attack, peak: Math.round(i.peak), dropped }, 'flood over; mitigation removed');
  }

  private async mitigate(i: Incident, o: Open, attribution: Attribution, rates: Rates): Promise<void> {
    if (!this.d.mitigator) return;
    const cfg = this.d.cfg;
    const plan = planMitigation(i, {
      attribution,
      rate: i.rate,
      portRates: this.portRates(i.signal, rates),
      httpSourceRate: cfg.httpSourceRate,
      tcpServicePorts: cfg.servicePorts.filter((p) => p.proto === 'tcp').map((p) => p.port),
      udpServicePorts: cfg.servicePorts.filter((p) => p.proto === 'udp').map((p) => p.port),
    });
    try {
      o.plan = await this.d.mitigator.apply(i.id, plan);
      if (o.mitigatedAt === undefined && this.d.mitigator.has(i.id)) o.mitigatedAt = this.d.clock.now();
    } catch (e) {
      this.d.log.error({ id: i.id, err: describeError(e) }, 'mitigation could not be applied');
    }
    if (cfg.banJail && PROVEN_SOURCE_ATTACKS.has(i.signal.attack)) {
      const fresh = o.plan.dropSources.filter((ip) => !o.banned.has(ip));
      for (const ip of fresh) o.banned.add(ip);
      void requestBans(this.d.bus, cfg.banJail, fresh, i.signal.attack, this.d.log);
    }
  }

  private async attribution(s: Signal, conns: ConnSummary): Promise<Attribution> {
    const opts = { minShare: this.d.cfg.attributeShare };
    if (s.attack === 'slowloris') {
      // The offenders are the sources holding more long-lived connections than the threshold.
      const floor = this.d.cfg.floors.slowloris;
      const heavy = new Map([...conns.longLived].filter(([, n]) => n >= floor));
      const a = attribute(conns.longLived, this.d.trusted, { ...opts, minSamples: 1 });
      const attributable = a.top.length > 0 ? attribute(heavy, this.d.trusted, { minShare: 0, minSamples: 1 }).attributable : [];
      return { ...a, attributable, attributedShare: attributable.reduce((x, y) => x + y.share, 0) };
    }
    if (!s.sourceClass || !this.d.client) return { top: [], attributable: [], attributedShare: 0, total: 0 };
    const counts = (await this.quiet(() => readSources(this.d.client!, this.d.cfg.guardTable, s.sourceClass!))) ?? new Map<string, number>();
    await this.quiet(() => flushSources(this.d.client!, this.d.cfg.guardTable, s.sourceClass!));
    return attribute(counts, this.d.trusted, opts);
  }

  private portRates(s: Signal, rates: Rates): Map<number, number> {
    const out = new Map<number, number>();
    const cls = s.sourceClass;
    for (const p of this.d.cfg.servicePorts) {
      const metric = cls === 'udp' && p.proto === 'udp' ? portMetric('udp', p.port) : cls === 'syn' && p.proto === 'tcp' ? newConnMetric(p.port) : undefined;
      if (metric && rates[metric] !== undefined) out.set(p.port, rates[metric]);
    }
    return out;
  }

  /** nft trouble during an incident is logged, never thrown into the measuring loop. */
  private async quiet<T>(fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await fn();
    } catch (e) {
      this.d.log.error({ err: describeError(e) }, 'nftables call failed during a flood');
      return undefined;
    }
  }
}
