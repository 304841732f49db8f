import { createHash } from 'node:crypto';
import { FAILURE_BATCH_MAX, publishDurableEncoded, subjectFor, SUBJECTS, type BatchedFailure, type Bus, type FailureBatchV1 } from '@portcullis/shared';

/** Payload budget of one batch: under NATS' default 1 MiB max_payload, with room for headers. */
const BATCH_MAX_BYTES = 900 * 1024;
/** JSON around one failure: {"id":"","ip":"","at":1795318801000,"line":""}, and a comma. */
const FAILURE_OVERHEAD = 64;
/** Strings JSON writes as they are, one byte a character (printable ASCII but `"` and `\`). */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** What every failure of a batch shares. */
export type BatchEnvelope = Omit<FailureBatchV1, 'v' | 'id' | 'failures' | 'producer'> & { producer: 'log' | 'external' };

const encoder = new TextEncoder();

/**
 * Publishes the failures of one jail from one log batch as FailureBatch messages (several when they
 * do not fit one), resolving once JetStream stored all of them. A batch's id is derived from the
 * failure ids it carries: the same failures re-published after a crash are dropped by JetStream's
 * duplicate window, and a batch whose content differs (never the same id) is not.
 *
 * The JSON is written without a pass of the contract's schema (the banner validates every batch it
 * reads): the envelope comes from a validated LogBatch and matchBatch builds each failure within
 * the contract's bounds (an address, an integer time, bounded texts), which the matcher's tests
 * check against the schema. The schema's pass would cost as much as the filters for a mass attack.
 */
export async function publishFailureBatches(bus: Bus, env: BatchEnvelope, failures: readonly BatchedFailure[]): Promise<void> {
  if (failures.length === 0) return;
  const subject = subjectFor(SUBJECTS.failureBatches, env.jail);
  const parts = planParts(failures, payloadBudget(bus));
  await Promise.all(
    parts.map((part) => {
      const id = batchIdOf(env.jail, part);
      const batch: FailureBatchV1 = { v: 1, id, ...env, failures: part as BatchedFailure[] };
      return publishDurableEncoded(bus, subject, encoder.encode(JSON.stringify(batch)), id);
    }),
  );
}

/** Splits failures, in order, into parts under the byte budget and the contract's count bound. */
export function planParts(failures: readonly BatchedFailure[], maxBytes: number): BatchedFailure[][] {
  const parts: BatchedFailure[][] = [];
  let cur: BatchedFailure[] = [];
  let size = 0;
  for (const f of failures) {
    const cost = failureBytes(f);
    if (cur.length > 0 && (size + cost > maxBytes || cur.length >= FAILURE_BATCH_MAX)) {
      parts.push(cur);
      cur = [];
      size = 0;
    }
    cur.push(f);
    size += cost;
  }
  if (cur.length > 0) parts.push(cur);
  return parts;
}

/** An upper bound of one failure's JSON size in bytes, without encoding it when its text is plain. */
function failureBytes(f: BatchedFailure): number {
  let n = FAILURE_OVERHEAD + jsonBytes(f.id) + f.ip.length;
  if (f.line !== undefined) n += jsonBytes(f.line);
  if (f.user !== undefined) n += jsonBytes(f.user) + 10;
  if (f.fields !== undefined) {
    n += 12;
    for (const k in f.fields) n += jsonBytes(k) + jsonBytes(f.fields[k]!) + 2;
  }
  return n;
}

function jsonBytes(s: string): number {
  return PLAIN.test(s) ? s.length + 2 : Buffer.byteLength(JSON.stringify(s));
}

/** The server's max_payload (1 MiB unless configured otherwise) bounds the budget too. */
function payloadBudget(bus: Bus): number {
  const max = bus.nc.info?.max_payload;
  return max === undefined ? BATCH_MAX_BYTES : Math.min(BATCH_MAX_BYTES, Math.floor(max * 0.85));
}

function batchIdOf(jail: string, failures: readonly BatchedFailure[]): string {
  const h = createHash('sha256').update(jail).update('\0');
  for (const f of failures) h.update(f.id).update('\0');
  return h.digest('hex').slice(0, 32);
}
