import { isIP } from 'node:net';
import { z } from 'zod';

export const ipAddress = z.string().max(64).refine((s) => isIP(s) !== 0, { message: 'not an IPv4 or IPv6 address' });
export const name = z.string().min(1).max(128);
/** Epoch milliseconds. */
export const epochMs = z.number().int().nonnegative();
export const origin = z.enum(['log', 'cli', 'api', 'external', 'flowmon']);
export type Origin = z.infer<typeof origin>;
/** W3C trace context travels in NATS headers, not in the payload; this is for stored audit records. */
export const traceId = z.string().regex(/^[0-9a-f]{32}$/).optional();
