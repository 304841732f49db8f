import { describe, expect, it } from 'vitest';
import type { Incident } from '../src/detect/detector.js';
import { buildSignals, type Signal } from '../src/detect/signals.js';
import { attribute } from '../src/mitigation/attribution.js';
import { rebuildCommands } from '../src/mitigation/guard-rules.js';
import { describePlan, mergePlans, planMitigation, sameRules, type MitigationPlan } from '../src/mitigation/plan.js';
import { createTrusted, outermost } from '../src/mitigation/trusted.js';

const floors = { udp: 1000, dns: 500, icmp: 500, syn: 1000, http: 200, other: 1000, tcpOos: 2000, slowloris: 50 };
const signals = buildSignals({ httpPorts: [80], floors });
const signal = (key: string): Signal => signals.find((s) => s.key === key)!;
const trusted = createTrusted([
  { family: 4, addr: '127.0.0.0', prefix: 8 },
  { family: 4, addr: '192.0.2.1', prefix: 32 },
  { family: 6, addr: '2001:db8:ffff::', prefix: 48 },
]);

function incident(key: string, threshold = 1000): Incident {
  return { id: 'i', signal: signal(key), onsetAt: 0, detectedAt: 100, threshold, baseline: 100, rate: 0, peak: 0, state: 'active', since: undefined };
}

const ctx = { httpSourceRate: 20, tcpServicePorts: [80, 443], udpServicePorts: [53] };

describe('attribution', () => {
  it('names the sources with at least the minimum share and never a trusted one', () => {
    const a = attribute(new Map([['192.0.2.9', 900], ['192.0.2.1', 80], ['198.51.100.4', 20]]), trusted, { minShare: 0.05 });
    expect(a.top.map((s) => s.ip)).toEqual(['192.0.2.9', '192.0.2.1', '198.51.100.4']);
    expect(a.top[0]!.share).toBeCloseTo(0.9, 6);
    expect(a.attributable.map((s) => s.ip)).toEqual(['192.0.2.9']);
    expect(a.attributedShare).toBeCloseTo(0.9, 6);
  });

  it('attributes nothing to a spoofed flood (every source tiny) or to too few samples', () => {
    const spoofed = new Map(Array.from({ length: 500 }, (_, i) => [`10.${i >> 8}.${i & 255}.1`, 2] as [string, number]));
    expect(attribute(spoofed, trusted, { minShare: 0.05 }).attributable).toEqual([]);
    expect(attribute(new Map([['192.0.2.9', 3]]), trusted, { minShare: 0.05 }).attributable).toEqual([]);
  });

  it('trusted networks: nested entries collapse so nftables gets no overlapping intervals', () => {
    expect(outermost([
      { family: 4, addr: '127.0.0.1', prefix: 32 },
      { family: 4, addr: '127.0.0.0', prefix: 8 },
      { family: 4, addr: '192.0.2.77', prefix: 24 },
      { family: 6, addr: '2001:db8::5', prefix: 128 },
    ])).toEqual([
      { family: 4, addr: '127.0.0.0', prefix: 8 },
      { family: 4, addr: '192.0.2.0', prefix: 24 },
      { family: 6, addr: '2001:db8::5', prefix: 128 },
    ]);
    expect(trusted.has('2001:db8:ffff:1::9')).toBe(true);
    expect(trusted.has('192.0.2.2')).toBe(false);
  });
});

describe('mitigation plans', () => {
  it('a single-source UDP flood drops the source and limits nothing else', () => {
    const attribution = attribute(new Map([['192.0.2.9', 1000]]), trusted, { minShare: 0.05 });
    const p = planMitigation(incident('udp-flood'), { ...ctx, attribution, rate: 20_000, portRates: new Map() });
    expect(p).toEqual({ dropSources: ['192.0.2.9'], dropLevel: 'raw', limits: [] });
  });

  it('a spoofed SYN flood aimed at one port gets a limit on that port at the threshold', () => {
    const attribution = attribute(new Map([['10.0.0.1', 2], ['10.0.0.2', 2]]), trusted, { minShare: 0.05, minSamples: 1 });
    const p = planMitigation(incident('syn-flood', 1500), { ...ctx, attribution: { ...attribution, attributable: [], attributedShare: 0 }, rate: 30_000, portRates: new Map([[80, 29_000], [443, 5]]) });
    expect(p.dropSources).toEqual([]);
    expect(p.limits).toEqual([{ cls: 'syn', port: 80, rate: 1500 }]);
    expect(describePlan(p).text).toBe('tcp syn to port 80 limited to 1500/s (known clients exempt)');
  });

  it('drops the big senders and still limits what is left when that alone is a flood', () => {
    const counts = new Map<string, number>([['192.0.2.9', 600]]);
    for (let i = 0; i < 400; i++) counts.set(`10.1.${i >> 8}.${i & 255}`, 1);
    const attribution = attribute(counts, trusted, { minShare: 0.05 });
    const p = planMitigation(incident('icmp-flood', 500), { ...ctx, attribution, rate: 10_000, portRates: new Map() });
    expect(p.dropSources).toEqual(['192.0.2.9']);
    expect(p.limits).toEqual([{ cls: 'icmp', rate: 500 }]);
  });

  it('DNS amplification drops unsolicited responses, never the reflectors', () => {
    const attribution = attribute(new Map([['198.51.100.53', 1000]]), trusted, { minShare: 0.05 });
    const p = planMitigation(incident('dns-amplification'), { ...ctx, attribution, rate: 9000, portRates: new Map() });
    expect(p).toEqual({ dropSources: [], dropLevel: 'raw', limits: [], unsolicitedDns: { exceptDport53: true } });
  });

  it('HTTP floods get per-source connection limits; slowloris a connection cap; other floods act after conntrack', () => {
    const none = { top: [], attributable: [], attributedShare: 0, total: 0 };
    expect(planMitigation(incident('http-flood:80', 300), { ...ctx, attribution: none, rate: 3000, portRates: new Map() }).perSource).toEqual({ port: 80, rate: 20 });
    expect(planMitigation(incident('slowloris', 50), { ...ctx, attribution: none, rate: 300, portRates: new Map() }).connLimit).toEqual({ ports: [80, 443], max: 50 });
    expect(planMitigation(incident('other:tcp-oos', 2000), { ...ctx, attribution: none, rate: 9000, portRates: new Map() })).toEqual({
      dropSources: [],
      dropLevel: 'ct',
      limits: [{ cls: 'tcp_oos', rate: 2000 }],
    });
  });

  it('merging keeps every source already dropped; new sources alone do not need new rules', () => {
    const a: MitigationPlan = { dropSources: ['192.0.2.9'], dropLevel: 'raw', limits: [] };
    const b: MitigationPlan = { dropSources: ['192.0.2.10'], dropLevel: 'raw', limits: [] };
    const m = mergePlans(a, b);
    expect(m.dropSources).toEqual(['192.0.2.9', '192.0.2.10']);
    expect(sameRules(a, m)).toBe(true);
    expect(sameRules(a, { ...m, limits: [{ cls: 'udp', rate: 5 }] })).toBe(false);
  });
});

describe('guard rules', () => {
  it('known clients skip aggregate limits but not drop sets or per-source limits; removed sets go after the flush', () => {
    const plan: MitigationPlan = { dropSources: ['192.0.2.9', '2001:db8::9'], dropLevel: 'raw', limits: [{ cls: 'udp', rate: 1000 }], perSource: { port: 80, rate: 20 } };
    const cmds = rebuildCommands('t', [{ n: 3, plan }], [{ n: 3, plan }], [2], 600);
    const text = cmds.map((c) => JSON.stringify(c));
    const idx = (pred: (s: string) => boolean): number => text.findIndex(pred);
    const flush = idx((s) => s.includes('"flush"') && s.includes('pre_dyn'));
    const drop = idx((s) => s.includes('"i3:drop"'));
    const perSource = idx((s) => s.includes('"i3:per-source"'));
    const known = idx((s) => s.includes('"known clients"'));
    const limit = idx((s) => s.includes('"i3:limit"'));
    const removed = idx((s) => s.includes('"delete"') && s.includes('i2_d4'));
    expect(flush).toBe(0);
    expect(drop).toBeGreaterThan(flush);
    expect(perSource).toBeGreaterThan(drop);
    expect(known).toBeGreaterThan(perSource);
    expect(limit).toBeGreaterThan(known);
    expect(removed).toBeGreaterThan(limit);
    expect(text.some((s) => s.includes('"element"') && s.includes('"192.0.2.9"') && s.includes('"timeout":600'))).toBe(true);
    expect(text.some((s) => s.includes('"element"') && s.includes('i3_d6') && s.includes('2001:db8::9'))).toBe(true);
  });

  it('no aggregate limit, no known-client exemption rule', () => {
    const plan: MitigationPlan = { dropSources: ['192.0.2.9'], dropLevel: 'raw', limits: [] };
    const text = JSON.stringify(rebuildCommands('t', [{ n: 1, plan }], [], [], 600));
    expect(text).not.toContain('known clients');
  });
});
