import { isIP } from 'node:net';
import { isPortcullisError, PortcullisError } from '@portcullis/shared';
import { normalizeIp, parseCidr, type Cidr } from './normalize-ip.js';

export interface TrustEntries {
  addresses: string[];
  ranges: Cidr[];
  /** Host names, lower-case, to resolve. */
  hosts: string[];
}

const HOST_LABEL = '[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?';
const HOST_NAME = new RegExp(`^(?=.{1,253}\\.?$)${HOST_LABEL}(?:\\.${HOST_LABEL})*\\.?$`, 'i');

/** Sorts ignoreip entries into addresses, CIDR ranges and host names; anything else is a config error. */
export function parseTrustEntries(entries: readonly string[]): TrustEntries {
  const out: TrustEntries = { addresses: [], ranges: [], hosts: [] };
  for (const raw of entries) {
    const entry = raw.trim();
    if (entry === '') continue;
    try {
      if (entry.includes('/')) out.ranges.push(parseCidr(entry));
      else if (isIP(entry.replace(/^\[(.*)\]$/, '$1')) !== 0 || entry.includes(':')) out.addresses.push(normalizeIp(entry));
      else if (HOST_NAME.test(entry) && !/^[\d.]+$/.test(entry)) out.hosts.push(entry.toLowerCase().replace(/\.$/, ''));
      else throw new PortcullisError('PC_ADDRESS_INVALID', `${JSON.stringify(entry)} is not an address, CIDR range or host name`);
    } catch (e) {
      const reason = isPortcullisError(e) ? e.message : String(e);
      throw new PortcullisError('PC_CONFIG_INVALID', `ignoreip entry ${JSON.stringify(entry.slice(0, 100))}: ${reason}`, { cause: e });
    }
  }
  return out;
}
