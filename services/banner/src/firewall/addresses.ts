import { isIP, SocketAddress } from 'node:net';
import { PortcullisError } from '@portcullis/shared';

export interface NormalizedAddress {
  family: 4 | 6;
  /** Canonical text: dotted quad, or RFC 5952 IPv6 (as nft prints it), so kernel listings compare equal. */
  address: string;
}

const V4_MAPPED = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;

/** Validates and canonicalises one address; IPv4-mapped IPv6 becomes IPv4 (that is how such peers send). */
export function normalizeAddress(ip: string): NormalizedAddress {
  const family = isIP(ip);
  if (family === 4) return { family: 4, address: ip };
  if (family === 6) {
    const address = new SocketAddress({ address: ip, family: 'ipv6' }).address;
    const mapped = V4_MAPPED.exec(address);
    if (mapped) return { family: 4, address: mapped[1]! };
    return { family: 6, address };
  }
  throw new PortcullisError('PC_ADDRESS_INVALID', `"${ip}" is not a valid IPv4 or IPv6 address`);
}
