import { nft, type NftClient, type NftElement } from '@portcullis/shared';
import { FAMILY } from './ruleset.js';

/** A scratch set in our own table; its name does not parse as a jail set (names.ts), so nothing else reads it. */
export const PROBE_SET = 'portcullis-timeout-probe';

/** Documentation addresses, only ever elements of the scratch set (no rule refers to it). */
const TIMED_LONGER = '192.0.2.1';
const TIMED_TO_PERMANENT = '192.0.2.2';
const PERMANENT_TO_TIMED = '192.0.2.3';

/**
 * Whether this kernel replaces an existing element's timeout on a plain `add element` (Linux 6.10
 * and later), as the ban writes need in all three directions: timed -> longer, timed -> permanent,
 * permanent -> timed. Older kernels keep the element as it was, so writes there go as
 * add(bare) + delete + add(timeout), which touches every element three times: 50,000 addresses
 * took 0.78-0.88 s of CPU that way against 0.31-0.36 s for one add (libnftables JSON, measured
 * here). The probe writes only the scratch set and removes it again; it costs a few milliseconds.
 */
export async function probeTimeoutUpdate(client: NftClient, table: string): Promise<boolean> {
  const elements = (elem: NftElement[]) => nft.elements(FAMILY, table, PROBE_SET, elem);
  try {
    await client.run([
      nft.add(nft.set({ family: FAMILY, table, name: PROBE_SET, type: 'ipv4_addr', flags: ['timeout'] })),
      nft.flushSet(FAMILY, table, PROBE_SET),
      nft.add(elements([nft.elem(TIMED_LONGER, { timeout: 100 }), nft.elem(TIMED_TO_PERMANENT, { timeout: 100 }), PERMANENT_TO_TIMED])),
    ]);
    await client.run([nft.add(elements([nft.elem(TIMED_LONGER, { timeout: 10_000 }), TIMED_TO_PERMANENT, nft.elem(PERMANENT_TO_TIMED, { timeout: 10_000 })]))]);
    const listed = await client.list({ set: { family: FAMILY, table, name: PROBE_SET } });
    const timeouts = new Map<string, number | null>();
    for (const el of listed.find((o) => o.set)?.set?.elem ?? []) {
      if (typeof el === 'string') timeouts.set(el, null);
      else if (typeof el === 'object' && 'elem' in el && typeof el.elem.val === 'string') timeouts.set(el.elem.val, el.elem.timeout ?? null);
    }
    return timeouts.get(TIMED_LONGER) === 10_000 && timeouts.get(TIMED_TO_PERMANENT) === null && timeouts.get(PERMANENT_TO_TIMED) === 10_000;
  } finally {
    await client.run([nft.add(nft.set({ family: FAMILY, table, name: PROBE_SET, type: 'ipv4_addr', flags: ['timeout'] })), nft.delete(nft.set({ family: FAMILY, table, name: PROBE_SET }))]);
  }
}
