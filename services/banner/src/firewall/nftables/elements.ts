import { PortcullisError } from '@portcullis/shared';
import { normalizeAddress } from '../addresses.js';
import type { BanEntry, BannedAddress } from '../backend.js';
import { jailSetName, parseJailSetName } from '../names.js';
import { nft, type NftCommand, type NftElement, type NftObject } from '@portcullis/shared';
import { FAMILY } from './ruleset.js';

/** Per set name: canonical address -> timeout seconds (null = permanent). Later entries win. */
export type SetContents = Map<string, Map<string, number | null>>;

export function validTimeout(entry: BanEntry): number | null {
  const t = entry.timeoutSec;
  if (t === null) return null;
  if (typeof t !== 'number' || !Number.isFinite(t) || t <= 0) {
    throw new PortcullisError('PC_FIREWALL', `ban of ${entry.ip} in jail ${entry.jail}: timeoutSec must be a positive number or null, got ${String(t)}`);
  }
  return Math.ceil(t);
}

/** Groups entries by the set they go in, checking jails against `known` and addresses for validity. */
export function groupBySet(
  entries: readonly { jail: string; ip: string; timeoutSec?: number | null }[],
  known: ReadonlySet<string>,
): SetContents {
  const out: SetContents = new Map();
  const setNames = new Map<string, [string, string]>();
  for (const e of entries) {
    let names = setNames.get(e.jail);
    if (!names) {
      if (!known.has(e.jail)) {
        throw new PortcullisError('PC_JAIL_UNKNOWN', `jail "${e.jail}" is not set up in the firewall (set up: ${[...known].join(', ') || 'none'})`);
      }
      setNames.set(e.jail, (names = [jailSetName(e.jail, 4), jailSetName(e.jail, 6)]));
    }
    const { family, address } = normalizeAddress(e.ip);
    const name = names[family === 4 ? 0 : 1];
    let set = out.get(name);
    if (!set) out.set(name, (set = new Map()));
    set.set(address, e.timeoutSec === undefined ? null : validTimeout(e as BanEntry));
  }
  return out;
}

/**
 * How a write replaces what the kernel holds: 'in-place' where a plain add replaces an existing
 * element's timeout (see timeout-update-probe.ts), else 'add-delete-add'.
 */
export type ElementWrites = 'in-place' | 'add-delete-add';

/**
 * The commands of one transaction. In place, writes are one add (with the timeout, or bare for a
 * permanent ban). Otherwise elements are written as add(bare) + delete + add(with timeout): the
 * first add makes the delete safe when the address is absent, and the delete/add pair replaces the
 * timeout, which a plain add of an existing element leaves alone on kernels before 6.10. Removals
 * are add(bare) + delete either way, so removing an absent address is not an error.
 */
export function writeCommands(table: string, writes: SetContents, removals: SetContents = new Map(), mode: ElementWrites = 'add-delete-add'): NftCommand[] {
  const names = new Set([...writes.keys(), ...removals.keys()]);
  const cmds: NftCommand[] = [];
  for (const name of [...names].sort()) {
    const toWrite = writes.get(name) ?? new Map<string, number | null>();
    const toRemove = [...(removals.get(name)?.keys() ?? [])].filter((a) => !toWrite.has(a));
    const cleared = mode === 'in-place' ? toRemove : [...toWrite.keys(), ...toRemove];
    if (cleared.length > 0) {
      cmds.push(nft.add(nft.elements(FAMILY, table, name, cleared)));
      cmds.push(nft.delete(nft.elements(FAMILY, table, name, cleared)));
    }
    if (toWrite.size > 0) {
      const elems: NftElement[] = [];
      for (const [addr, timeout] of toWrite) elems.push(timeout === null ? addr : { elem: { val: addr, timeout } });
      cmds.push(nft.add(nft.elements(FAMILY, table, name, elems)));
    }
  }
  return cmds;
}

/** The jail sets in a `list table` answer, with their elements, keyed by set name. */
export function readJailSets(objects: readonly NftObject[]): Map<string, { jail: string; family: 4 | 6; elems: BannedAddress[] }> {
  const out = new Map<string, { jail: string; family: 4 | 6; elems: BannedAddress[] }>();
  for (const o of objects) {
    const set = o.set;
    if (!set) continue;
    const parsed = parseJailSetName(set.name);
    if (!parsed) continue;
    const elems: BannedAddress[] = [];
    for (const el of set.elem ?? []) {
      if (typeof el === 'string') elems.push({ jail: parsed.jail, ip: el, expiresSec: null });
      else if (typeof el === 'object' && 'elem' in el && typeof el.elem.val === 'string') {
        // nft omits `expires` when less than a millisecond is left; such an element is on its way out.
        const expiresSec = el.elem.timeout === undefined ? null : (el.elem.expires ?? 0);
        elems.push({ jail: parsed.jail, ip: el.elem.val, expiresSec });
      }
    }
    out.set(set.name, { jail: parsed.jail, family: parsed.family, elems });
  }
  return out;
}
