import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Netns } from '../../../../tests/harness/netns.js';

/**
 * `nft monitor elements` inside a namespace: the moment each address is added to a set, as the
 * kernel reports it. Only for small transactions (latency): with tens of thousands of elements the
 * notifications themselves slow the commit down (50,000 elements: 0.23 s -> 0.76 s measured).
 */
export class NftMonitor {
  private readonly seen = new Map<string, number>();
  private readonly waiters = new Map<string, (t: number) => void>();
  private readonly child: ChildProcess;
  readonly ready: Promise<void>;

  constructor(readonly ns: Netns, private readonly setPattern: RegExp) {
    this.child = ns.spawn('nft', ['monitor', 'elements'], { stdio: ['ignore', 'pipe', 'ignore'] });
    const lines = createInterface({ input: this.child.stdout! });
    lines.on('line', (line) => this.onLine(line, Date.now()));
    // nft opens its netlink socket at once; a short wait makes sure nothing earlier is missed.
    this.ready = new Promise((r) => setTimeout(r, 300));
  }

  /** When `key` (`set ip`) was first added, waiting up to timeoutMs. */
  when(set: string, ip: string, timeoutMs: number): Promise<number | undefined> {
    const key = `${set} ${ip}`;
    const t = this.seen.get(key);
    if (t !== undefined) return Promise.resolve(t);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters.delete(key);
        resolve(undefined);
      }, timeoutMs);
      this.waiters.set(key, (at) => {
        clearTimeout(timer);
        resolve(at);
      });
    });
  }

  stop(): void {
    this.child.kill('SIGTERM');
  }

  private onLine(line: string, at: number): void {
    const m = /^add element \S+ \S+ (\S+) \{ (.*) \}$/.exec(line);
    if (!m || !this.setPattern.test(m[1]!)) return;
    for (const part of m[2]!.split(', ')) {
      const ip = part.trim().split(' ')[0]!;
      const key = `${m[1]} ${ip}`;
      if (this.seen.has(key)) continue;
      this.seen.set(key, at);
      const w = this.waiters.get(key);
      if (w) {
        this.waiters.delete(key);
        w(at);
      }
    }
  }
}

/** How many elements a set holds now (0 when it does not exist). */
export async function setSize(ns: Netns, family: string, table: string, set: string): Promise<number> {
  const r = await ns.exec('nft', ['-j', 'list', 'set', family, table, set], { check: false, timeoutMs: 60_000 });
  if (r.code !== 0) return 0;
  const doc = JSON.parse(r.stdout) as { nftables: { set?: { elem?: unknown[] } }[] };
  return doc.nftables.find((o) => o.set)?.set?.elem?.length ?? 0;
}

/** True when every one of `ips` is in the set (one `nft get element`, which fails if any is missing). */
export async function allInSet(ns: Netns, family: string, table: string, set: string, ips: readonly string[]): Promise<boolean> {
  const r = await ns.exec('nft', ['get', 'element', family, table, set, `{ ${ips.join(', ')} }`], { check: false });
  return r.code === 0;
}

/**
 * Polls until `ips` are all in the set: a spread sample is checked every `everyMs` (cheap), and
 * once the sample is complete the whole set is counted to confirm. Returns the time the sample
 * was first complete (Date.now()), or undefined on timeout.
 */
export async function waitForAll(
  ns: Netns,
  where: { family: string; table: string; set: string },
  ips: readonly string[],
  timeoutMs: number,
  everyMs = 10,
): Promise<number | undefined> {
  const sample = spread(ips, 64);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await allInSet(ns, where.family, where.table, where.set, sample)) {
      const at = Date.now();
      if ((await setSize(ns, where.family, where.table, where.set)) >= ips.length) return at;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return undefined;
}

function spread<T>(xs: readonly T[], n: number): T[] {
  if (xs.length <= n) return [...xs];
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(xs[Math.floor(((i + 1) * xs.length) / n) - 1]!);
  return out;
}
