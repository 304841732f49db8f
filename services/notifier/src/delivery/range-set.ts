/** A set of positive integers kept as sorted, disjoint, non-adjacent closed ranges. */
export class RangeSet {
  private ranges: [number, number][] = [];

  static from(ranges: readonly (readonly [number, number])[]): RangeSet {
    const set = new RangeSet();
    for (const [lo, hi] of ranges) set.addRange(lo, hi);
    return set;
  }

  get size(): number {
    return this.ranges.length;
  }

  /** The largest member, or 0 when empty. */
  get max(): number {
    return this.ranges[this.ranges.length - 1]?.[1] ?? 0;
  }

  has(n: number): boolean {
    const i = this.indexAfter(n) - 1;
    const r = this.ranges[i];
    return r !== undefined && r[0] <= n && n <= r[1];
  }

  add(n: number): void {
    this.addRange(n, n);
  }

  addRange(lo: number, hi: number): void {
    if (hi < lo) return;
    // Ends are sorted too: the first range ending at or after lo - 1 is the first that can merge.
    const start = this.firstEndingAtOrAfter(lo - 1);
    let end = start;
    let newLo = lo;
    let newHi = hi;
    while (end < this.ranges.length) {
      const r = this.ranges[end] as [number, number];
      if (r[0] > hi + 1) break;
      newLo = Math.min(newLo, r[0]);
      newHi = Math.max(newHi, r[1]);
      end++;
    }
    this.ranges.splice(start, end - start, [newLo, newHi]);
  }

  /** Drops every member <= floor; true when anything was dropped. */
  dropThrough(floor: number): boolean {
    let i = 0;
    while (i < this.ranges.length && (this.ranges[i] as [number, number])[1] <= floor) i++;
    this.ranges.splice(0, i);
    const first = this.ranges[0];
    const clipped = first !== undefined && first[0] <= floor;
    if (first && clipped) first[0] = floor + 1;
    return i > 0 || clipped;
  }

  toJSON(): [number, number][] {
    return this.ranges.map(([lo, hi]) => [lo, hi]);
  }

  private firstEndingAtOrAfter(n: number): number {
    let lo = 0;
    let hi = this.ranges.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.ranges[mid] as [number, number])[1] < n) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Index of the first range whose start is > n. */
  private indexAfter(n: number): number {
    let lo = 0;
    let hi = this.ranges.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.ranges[mid] as [number, number])[0] <= n) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
