import type { Trusted } from './trusted.js';

export interface SourceShare {
  ip: string;
  /** Fraction of the sampled packets (or connections) from this source, 0..1. */
  share: number;
  count: number;
}

export interface Attribution {
  /** Biggest senders first, trusted ones included (they are reported, never dropped). */
  top: SourceShare[];
  /** Untrusted sources that each sent at least the minimum share: these may be dropped. */
  attributable: SourceShare[];
  /** Sum of the attributable shares. */
  attributedShare: number;
  /** Samples the attribution rests on. */
  total: number;
}

export interface AttributionOptions {
  minShare: number;
  /** Fewer samples than this attribute nothing: too little to name anyone. */
  minSamples?: number;
  maxSources?: number;
  topN?: number;
}

/**
 * Who sent a flood, from per-source counts. A spoofed or widely distributed flood has no source
 * above the minimum share and attributes nothing; aggregate limits handle it instead.
 */
export function attribute(counts: ReadonlyMap<string, number>, trusted: Trusted, opts: AttributionOptions): Attribution {
  let total = 0;
  for (const n of counts.values()) total += n;
  const ranked = [...counts.entries()]
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([ip, count]) => ({ ip, count, share: total > 0 ? count / total : 0 }));
  const top = ranked.slice(0, opts.topN ?? 10);
  if (total < (opts.minSamples ?? 10)) return { top, attributable: [], attributedShare: 0, total };
  const attributable = ranked.filter((s) => s.share >= opts.minShare && !trusted.has(s.ip)).slice(0, opts.maxSources ?? 64);
  const attributedShare = Math.min(1, attributable.reduce((sum, s) => sum + s.share, 0));
  return { top, attributable, attributedShare, total };
}
