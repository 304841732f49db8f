import { describe, expect, it } from 'vitest';
import { ManualClock } from '@portcullis/shared';
import { Detector, type DetectorEvent, type DetectorOptions } from '../src/detect/detector.js';
import { buildSignals, mostlyHalfOpen, type Rates } from '../src/detect/signals.js';

const TICK = 100;
const floors = { udp: 1000, dns: 500, icmp: 500, syn: 1000, http: 200, other: 1000, tcpOos: 2000, slowloris: 50 };

function setup(opts: Partial<DetectorOptions> = {}) {
  const clock = new ManualClock(Date.UTC(2026, 0, 1, 12));
  const signals = buildSignals({ httpPorts: [80, 443], floors });
  const detector = new Detector(
    signals,
    {
      confirmTicks: 2,
      releaseRatio: 0.5,
      releaseMs: 1000,
      cooldownMs: 5000,
      thresholdOf: (s) => ({ threshold: s.floor, baseline: s.floor / 10 }),
      ...opts,
    },
    'host1',
  );
  const events: DetectorEvent[] = [];
  const tick = (rates: Rates, n = 1): DetectorEvent[] => {
    const out: DetectorEvent[] = [];
    for (let i = 0; i < n; i++) {
      clock.advance(TICK);
      out.push(...detector.tick(rates, clock.now(), TICK));
    }
    events.push(...out);
    return out;
  };
  return { clock, detector, tick, events };
}

const kinds = (evs: DetectorEvent[]): string[] => evs.map((e) => (e.kind === 'candidate' ? `candidate ${e.signal.key}` : `${e.kind} ${e.incident.signal.key}`));

describe('detector', () => {
  it('needs confirmTicks consecutive ticks over the threshold; one tick is a blip', () => {
    const { tick, detector } = setup();
    expect(kinds(tick({ udp_pps: 5000 }))).toEqual(['candidate udp-flood']);
    expect(kinds(tick({ udp_pps: 10 }))).toEqual([]);
    expect(detector.busy()).toBe(false);
    expect(kinds(tick({ udp_pps: 5000 }))).toEqual(['candidate udp-flood']);
    const started = tick({ udp_pps: 6000 });
    expect(kinds(started)).toEqual(['start udp-flood']);
    const inc = (started[0] as Extract<DetectorEvent, { kind: 'start' }>).incident;
    expect(inc.signal.attack).toBe('udp-flood');
    expect(inc.threshold).toBe(1000);
    expect(inc.rate).toBe(6000);
    // The onset is the start of the first tick that was over: two ticks before detection.
    expect(inc.detectedAt - inc.onsetAt).toBe(2 * TICK);
  });

  it('a rate at the threshold is not over it', () => {
    const { tick } = setup();
    expect(tick({ icmp_pps: 500 }, 5)).toEqual([]);
  });

  it('stays active between the release level and the threshold (hysteresis), calms below it, ends after the cooldown', () => {
    const { tick, detector } = setup();
    tick({ udp_pps: 5000 }, 2);
    // 600 < threshold 1000 but above the release level 500: still a flood.
    expect(tick({ udp_pps: 600 }, 30)).toEqual([]);
    expect(detector.open()[0]?.state).toBe('active');
    // Below the release level for releaseMs (10 ticks) -> calm.
    expect(kinds(tick({ udp_pps: 100 }, 9))).toEqual([]);
    expect(kinds(tick({ udp_pps: 100 }))).toEqual(['calm udp-flood']);
    expect(detector.busy()).toBe(true);
    // The cooldown (5 s = 50 ticks) then ends it.
    expect(kinds(tick({ udp_pps: 100 }, 49))).toEqual([]);
    expect(kinds(tick({ udp_pps: 100 }))).toEqual(['end udp-flood']);
    expect(detector.open()).toEqual([]);
    expect(detector.busy()).toBe(false);
  });

  it('a dip below the release level shorter than releaseMs does not calm the alert', () => {
    const { tick } = setup();
    tick({ udp_pps: 5000 }, 2);
    expect(tick({ udp_pps: 0 }, 9)).toEqual([]);
    expect(tick({ udp_pps: 5000 }, 1)).toEqual([]);
    expect(tick({ udp_pps: 0 }, 9)).toEqual([]);
  });

  it('a flood returning during the cooldown resumes the same incident (no flapping)', () => {
    const { tick } = setup();
    const [start] = tick({ udp_pps: 5000 }, 2).filter((e) => e.kind === 'start') as Extract<DetectorEvent, { kind: 'start' }>[];
    tick({ udp_pps: 0 }, 10);
    const resumed = tick({ udp_pps: 4000 });
    expect(kinds(resumed)).toEqual(['resume udp-flood']);
    expect((resumed[0] as Extract<DetectorEvent, { kind: 'resume' }>).incident.id).toBe(start!.incident.id);
    // Below the start threshold but above release during cooldown: no resume.
    tick({ udp_pps: 0 }, 10);
    expect(tick({ udp_pps: 900 }, 3)).toEqual([]);
  });

  it('freezes the threshold at detection: the attack does not raise its own bar', () => {
    let threshold = 1000;
    const { tick, detector } = setup({ thresholdOf: () => ({ threshold, baseline: 100 }) });
    tick({ udp_pps: 5000 }, 2);
    threshold = 1_000_000;
    tick({ udp_pps: 5000 }, 20);
    expect(detector.open()[0]).toMatchObject({ threshold: 1000, state: 'active', peak: 5000 });
  });

  it('tells a SYN flood (half-open) from an HTTP flood (completed handshakes)', () => {
    const syn = setup();
    const half: Rates = { tcp_syn_pps: 20_000, newconn_tcp_80_ps: 20_000, tcp_passive_opens_ps: 0, syncookies_sent_ps: 0 };
    expect(kinds(syn.tick(half, 2)).filter((k) => k.startsWith('start'))).toEqual(['start syn-flood']);

    const http = setup();
    const full: Rates = { tcp_syn_pps: 900, newconn_tcp_80_ps: 900, tcp_passive_opens_ps: 880, syncookies_sent_ps: 0 };
    expect(kinds(http.tick(full, 2)).filter((k) => k.startsWith('start'))).toEqual(['start http-flood:80']);

    expect(mostlyHalfOpen({ tcp_syn_pps: 100, tcp_passive_opens_ps: 100, syncookies_sent_ps: 3 })).toBe(true);
  });

  it('watches every attack type on its own metric', () => {
    const { tick } = setup();
    const rates: Rates = {
      udp_pps: 5000,
      dns_resp_pps: 5000,
      icmp_pps: 5000,
      max_conns_per_source: 400,
      other_pps: 5000,
      tcp_oos_pps: 5000,
    };
    const started = kinds(tick(rates, 2)).filter((k) => k.startsWith('start'));
    expect(started.sort()).toEqual(['start dns-amplification', 'start icmp-flood', 'start other:proto', 'start other:tcp-oos', 'start slowloris', 'start udp-flood']);
  });
});
