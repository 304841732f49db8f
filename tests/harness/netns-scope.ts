import { afterAll, afterEach } from 'vitest';
import { createNetns, linkNetns, type LinkOptions, type Netns, type NetnsLink } from './netns.js';

/** The documentation addresses createPair() uses unless told otherwise. */
export const DEFAULT_PAIR_ADDRESSES: Required<LinkOptions> = {
  aAddr: '192.0.2.1/24',
  bAddr: '192.0.2.2/24',
  aAddr6: '2001:db8::1/64',
  bAddr6: '2001:db8::2/64',
};

export interface NetnsPair {
  a: Netns;
  b: Netns;
  link: NetnsLink;
}

/** Tracks every namespace a test file creates so they are all deleted, whether the tests pass or not. */
export class NetnsScope {
  private readonly live = new Set<Netns>();

  async create(prefix?: string): Promise<Netns> {
    const netns = await createNetns(prefix);
    this.live.add(netns);
    return netns;
  }

  /** Two namespaces joined by a veth pair: a = 192.0.2.1 / 2001:db8::1, b = 192.0.2.2 / 2001:db8::2 by default. */
  async createPair(opts: LinkOptions = DEFAULT_PAIR_ADDRESSES, prefix?: string): Promise<NetnsPair> {
    const [a, b] = await Promise.all([this.create(prefix), this.create(prefix)]);
    const link = await linkNetns(a, b, opts);
    return { a, b, link };
  }

  get size(): number {
    return this.live.size;
  }

  /** Disposes every namespace; reports all failures together after trying each one. */
  async disposeAll(): Promise<void> {
    const namespaces = [...this.live];
    this.live.clear();
    const results = await Promise.allSettled(namespaces.map((n) => n.dispose()));
    const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason as unknown);
    if (failures.length > 0) throw new AggregateError(failures, `${failures.length} network namespace(s) could not be disposed`);
  }
}

/**
 * A NetnsScope cleaned up by vitest after the file (default) or after each test (`each: true`).
 * Call it at the top level of a test file or inside a describe block.
 */
export function useNetnsScope(opts: { each?: boolean } = {}): NetnsScope {
  const scope = new NetnsScope();
  if (opts.each) afterEach(() => scope.disposeAll());
  else afterAll(() => scope.disposeAll());
  return scope;
}
