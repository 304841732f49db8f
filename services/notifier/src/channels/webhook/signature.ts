import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-portcullis-signature';
export const TIMESTAMP_HEADER = 'x-portcullis-timestamp';

/**
 * `sha256=<hex HMAC-SHA256(key, "<timestamp>.<body>")>`. The timestamp (unix seconds, sent in
 * X-Portcullis-Timestamp) is signed with the body so a captured request cannot be replayed later.
 */
export function signPayload(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * What a receiver runs: true when the signature matches and the timestamp is within
 * `toleranceS` of `nowMs`. Compares in constant time.
 */
export function verifySignature(
  secret: string,
  body: string,
  headers: { signature: string | undefined; timestamp: string | undefined },
  opts: { nowMs?: number; toleranceS?: number } = {},
): boolean {
  if (headers.signature === undefined || headers.timestamp === undefined || !/^\d+$/.test(headers.timestamp)) return false;
  const ts = Number(headers.timestamp);
  const now = (opts.nowMs ?? Date.now()) / 1000;
  if (Math.abs(now - ts) > (opts.toleranceS ?? 300)) return false;
  const expected = Buffer.from(signPayload(secret, ts, body));
  const given = Buffer.from(headers.signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
