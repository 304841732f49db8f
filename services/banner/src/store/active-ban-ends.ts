import { parseScore } from './record-codec.js';
import { withRedis } from './script-runner.js';
import type { StoreContext } from './store-context.js';
import type { BanEnd } from './types.js';

/**
 * Every running ban's jail, address and end, from the `due` sets alone (one ZRANGEBYSCORE per jail,
 * pipelined): what enforcement needs, without reading and decoding each ban's record. bans and due
 * change together in every script, so a due entry always has its record. Reading the records took
 * a restart with 100,000 bans about a second before its firewall could be written.
 */
export async function activeBanEnds(ctx: StoreContext, jails: readonly string[]): Promise<BanEnd[]> {
  const t = String(ctx.now());
  const perJail = await withRedis('active ban listing', () => Promise.all(jails.map((j) => ctx.redis.zrangebyscore(ctx.keysOf(j).due, `(${t}`, '+inf', 'WITHSCORES'))));
  const out: BanEnd[] = [];
  jails.forEach((jail, n) => {
    const flat = perJail[n]!;
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const end = parseScore(flat[i + 1]!);
      out.push({ jail, ip: flat[i]!, until: end === Infinity ? null : end });
    }
  });
  return out;
}
