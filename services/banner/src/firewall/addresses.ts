import { normalizeIp } from '../trust/normalize-ip.js';

export interface NormalizedAddress {
  family: 4 | 6;
  /** The banner's one canonical spelling (RFC 5952 IPv6, as nft prints it), so listings compare equal to ban keys. */
  address: string;
}

/** Validates and canonicalises one address (PC_ADDRESS_INVALID); IPv4-mapped IPv6 becomes IPv4, as such peers send. */
export function normalizeAddress(ip: string): NormalizedAddress {
  const address = normalizeIp(ip);
  return { family: address.includes(':') ? 6 : 4, address };
}
