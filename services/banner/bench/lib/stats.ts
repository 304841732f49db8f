/** The q-quantile (0..1) of xs by the nearest-rank method. */
export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

export function summary(xs: readonly number[]): { n: number; p50: number; p99: number; max: number } {
  return { n: xs.length, p50: quantile(xs, 0.5), p99: quantile(xs, 0.99), max: quantile(xs, 1) };
}

export const round = (x: number, digits = 1): number => Math.round(x * 10 ** digits) / 10 ** digits;

/** Distinct documentation IPv6 addresses (2001:db8::/32), canonical as nft prints them; block > 0. */
export function docAddresses6(n: number, block: number): string[] {
  const out: string[] = [];
  // every group written is non-zero, so the spelling is already RFC 5952's
  for (let i = 0; i < n; i++) out.push(`2001:db8:${block.toString(16)}:${((i >> 15) + 1).toString(16)}::1:${((i & 0x7fff) + 1).toString(16)}`);
  return out;
}
