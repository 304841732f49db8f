import { DECISION_BATCH_STREAM, describeError, PortcullisError, type Bus } from '@portcullis/shared';

export const DECISION_BATCH_STREAM_NAME = DECISION_BATCH_STREAM.name;

/** As long as the decisions stream: a host that was away replays what it missed. */
const LIMITS = { max_age: 7 * 24 * 3600 * 1e9, max_bytes: 1024 ** 3, duplicate_window: 120 * 1e9 };

/** Creates (or updates) the stream of decision batches. Idempotent; every banner calls it at start. */
export async function ensureDecisionBatchStream(bus: Bus): Promise<void> {
  const cfg = { subjects: [...DECISION_BATCH_STREAM.subjects], ...LIMITS };
  try {
    await bus.jsm.streams.info(DECISION_BATCH_STREAM.name);
    await bus.jsm.streams.update(DECISION_BATCH_STREAM.name, cfg);
    return;
  } catch (e) {
    if (!/not found/i.test(describeError(e))) {
      throw new PortcullisError('PC_NATS_UNAVAILABLE', `cannot inspect stream ${DECISION_BATCH_STREAM.name}: ${describeError(e)}`, { cause: e });
    }
  }
  try {
    await bus.jsm.streams.add({ name: DECISION_BATCH_STREAM.name, ...cfg });
  } catch (e) {
    // another banner created it at the same moment
    if (!/already in use|exists/i.test(describeError(e))) throw e;
  }
}

