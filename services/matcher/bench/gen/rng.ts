/**
 * A small seeded PRNG (mulberry32) so generated logs are the same on every run and machine.
 */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)] as T;
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  /** Random lowercase/digit token. */
  token(len: number, alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789'): string {
    let s = '';
    for (let i = 0; i < len; i++) s += alphabet[Math.floor(this.next() * alphabet.length)];
    return s;
  }

  /** A documentation address (RFC 5737 / RFC 3849); mostly IPv4. */
  ip(): string {
    if (this.chance(0.08)) return `2001:db8:${this.int(1, 0xffff).toString(16)}::${this.int(1, 0xffff).toString(16)}`;
    return `${this.pick(['192.0.2', '198.51.100', '203.0.113'])}.${this.int(1, 254)}`;
  }
}

/**
 * Picks weighted episode kinds. Weights need not sum to 1.
 */
export function weighted<T extends string>(rng: Rng, table: ReadonlyArray<readonly [T, number]>): T {
  let total = 0;
  for (const [, w] of table) total += w;
  let x = rng.next() * total;
  for (const [k, w] of table) {
    x -= w;
    if (x < 0) return k;
  }
  return (table[table.length - 1] as readonly [T, number])[0];
}
