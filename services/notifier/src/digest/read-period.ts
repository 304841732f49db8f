import { CONTRACTS, decodeMessage, STREAMS, type Bus } from '@portcullis/shared';
import type { DigestAccumulator } from './report.js';

const BATCH = 1000;

/**
 * Folds the decisions and flood alerts stored in (from, to] into the accumulator, reading the
 * JetStream streams with ordered consumers from `from`: the streams keep a week, so the digest
 * needs no state of its own and is right even after the notifier was down all day.
 */
export async function readPeriod(bus: Bus, acc: DigestAccumulator, from: number, to: number): Promise<void> {
  await readStream(bus, STREAMS.decisions.name, from, to, (data) => acc.addDecision(decodeMessage(CONTRACTS.decision, data)), acc);
  await readStream(bus, STREAMS.flowAlerts.name, from, to, (data) => acc.addAlert(decodeMessage(CONTRACTS.flowAlert, data)), acc);
}

async function readStream(bus: Bus, stream: string, from: number, to: number, add: (data: Uint8Array) => void, acc: DigestAccumulator): Promise<void> {
  const info = await bus.jsm.streams.info(stream);
  if (info.state.messages === 0 || Date.parse(info.state.last_ts) <= from) return;
  const consumer = await bus.js.consumers.get(stream, { opt_start_time: new Date(from + 1).toISOString() });
  try {
    for (;;) {
      let got = 0;
      let finished = false;
      const batch = await consumer.fetch({ max_messages: BATCH, expires: 2_000 });
      for await (const m of batch) {
        got++;
        const at = Number(m.timestampNanos / 1_000_000n);
        if (at > to) {
          finished = true;
          break;
        }
        try {
          add(m.data);
        } catch {
          acc.invalid++;
        }
        if (m.info.pending === 0) {
          finished = true;
          break;
        }
      }
      if (finished || got === 0) return;
    }
  } finally {
    await consumer.delete().catch(() => undefined);
  }
}
