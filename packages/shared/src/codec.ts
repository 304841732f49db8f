import type { z } from 'zod';
import type { Contract } from './contracts/index.js';
import { PortcullisError } from './errors.js';

const encoder = new TextEncoder();
/** fatal: invalid UTF-8 in a bus message is a malformed message, not something to guess at. */
const decoder = new TextDecoder('utf-8', { fatal: true });

export function encodeMessage<S extends z.ZodType>(contract: Contract<S>, value: z.input<S>): Uint8Array {
  const parsed = contract.schema.safeParse(value);
  if (!parsed.success) {
    throw new PortcullisError('PC_MESSAGE_INVALID', `refusing to publish an invalid ${contract.name}: ${summarize(parsed.error)}`, {
      cause: parsed.error,
    });
  }
  return encoder.encode(JSON.stringify(parsed.data));
}

export function decodeMessage<S extends z.ZodType>(contract: Contract<S>, data: Uint8Array): z.output<S> {
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(data));
  } catch (e) {
    throw new PortcullisError('PC_MESSAGE_INVALID', `${contract.name}: payload is not UTF-8 JSON`, { cause: e });
  }
  const parsed = contract.schema.safeParse(json);
  if (!parsed.success) {
    throw new PortcullisError('PC_MESSAGE_INVALID', `${contract.name}: ${summarize(parsed.error)}`, { cause: parsed.error });
  }
  return parsed.data;
}

function summarize(err: z.ZodError): string {
  return err.issues
    .slice(0, 3)
    .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
    .join('; ');
}

/**
 * Counts messages rejected by validation, per contract, and decides when to log: the first few and
 * then one in a thousand, so a flood of garbage cannot flood the logs too.
 */
export class RejectCounter {
  readonly counts = new Map<string, number>();

  record(contractName: string): { count: number; shouldLog: boolean } {
    const count = (this.counts.get(contractName) ?? 0) + 1;
    this.counts.set(contractName, count);
    return { count, shouldLog: count <= 10 || count % 1000 === 0 };
  }

  total(): number {
    let n = 0;
    for (const c of this.counts.values()) n += c;
    return n;
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }
}
