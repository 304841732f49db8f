import { closeSync, fsyncSync, openSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Bus } from '@portcullis/shared';
import { cpuSecondsOf } from '../test/service/collector-process.js';
import { benchBus, decodeBatch, linesSubject, LOGS_STREAM, startBenchCollector } from './bench-setup.js';
import { seqOf, syslogBlock } from './syslog-lines.js';

export interface ThroughputResult {
  lines: number;
  bytes: number;
  seconds: number;
  linesPerS: number;
  mbPerS: number;
  /** Every line was found on the stream exactly once. */
  verified: boolean;
  peakRssMb: number;
  /** CPU seconds used by the collector and by nats-server while the lines went through. */
  collectorCpuS: number;
  natsCpuS: number;
}

/**
 * A pre-written file of `total` lines, read from its start by a fresh collector process. Timed from
 * the moment the collector read the first line (its readAt) to the moment JetStream stored the
 * message holding the last one (the stream's own timestamp): the same clock, no start-up cost.
 */
export async function measureThroughput(dir: string, nats: { url: string; pid: number }, total: number, log: (s: string) => void, nodeArgs: string[] = []): Promise<ThroughputResult> {
  const host = 'bench-throughput';
  const path = join(dir, 'throughput.log');
  const t0 = Date.now();
  writeFile(path, total);
  const bytes = statSync(path).size;
  log(`wrote ${total.toLocaleString('en')} lines (${(bytes / 1e6).toFixed(0)} MB) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  const bus = await benchBus(nats.url);
  try {
    const natsCpu0 = cpuSecondsOf(nats.pid);
    const collector = await startBenchCollector(dir, nats.url, host, path, true, nodeArgs);
    const cpu0 = collector.cpuSeconds();
    let peakRssMb = 0;
    try {
      const last = await waitForLastLine(bus, host, total - 1, () => {
        peakRssMb = Math.max(peakRssMb, collector.memory().hwm / 1e6);
      });
      const collectorCpuS = collector.cpuSeconds() - cpu0;
      const natsCpuS = cpuSecondsOf(nats.pid) - natsCpu0;
      const first = await firstMessage(bus, host);
      const seconds = (last - first) / 1000;
      peakRssMb = Math.max(peakRssMb, collector.memory().hwm / 1e6);
      await collector.stop();
      const verified = await verifyAll(bus, host, total);
      return { lines: total, bytes, seconds, linesPerS: total / seconds, mbPerS: bytes / 1e6 / seconds, verified, peakRssMb, collectorCpuS, natsCpuS };
    } finally {
      await collector.stop('SIGKILL');
    }
  } finally {
    await bus.close();
  }
}

function writeFile(path: string, total: number): void {
  const fd = openSync(path, 'w');
  try {
    for (let i = 0; i < total; i += 40_000) writeSync(fd, syslogBlock(i, Math.min(total, i + 40_000)));
    // On disk before the run: otherwise its writeback competes with the run (and every fsync of the
    // collector's positions may wait for it), which is not what is being measured.
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Waits until the last stored message holds line `lastSeq`; returns its store time (epoch ms).
 * The observer must not load what it observes: fetching the last message (up to a megabyte, sent
 * base64-encoded in a JSON reply) every 20 ms took about 1.5 of nats-server's 3.6 CPU seconds, on a
 * machine of two cores (measured with the same collector: 3.6-3.7 s, then 2.1 s). So the cheap
 * stream state is polled, and the last message is only fetched once the stream stood still between
 * two polls. The result is the message's own store time, so how late the poll notices does not
 * change the figure.
 */
async function waitForLastLine(bus: Bus, host: string, lastSeq: number, sample: () => void): Promise<number> {
  const deadline = Date.now() + 5 * 60_000;
  let seenSeq = -1;
  for (;;) {
    sample();
    const lastStored = await bus.jsm.streams.info(LOGS_STREAM).then(
      (i) => i.state.last_seq,
      () => -1,
    );
    if (lastStored >= 0 && lastStored === seenSeq) {
      const m = await bus.jsm.streams.getMessage(LOGS_STREAM, { last_by_subj: linesSubject(host) }).catch(() => null);
      if (m && decodeBatch(m.data).lines.some((l) => seqOf(l.text) === lastSeq)) return m.time.getTime();
    }
    seenSeq = lastStored;
    if (Date.now() > deadline) throw new Error('the last line never reached the stream');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** When the collector read the first line it published (its readAt). */
async function firstMessage(bus: Bus, host: string): Promise<number> {
  const c = await bus.js.consumers.get(LOGS_STREAM, { filter_subjects: linesSubject(host) });
  const m = await c.next({ expires: 5_000 });
  if (!m) throw new Error('no message on the stream');
  const first = decodeBatch(m.data).lines[0];
  if (!first) throw new Error('empty batch');
  return first.readAt;
}

/** Reads the whole subject back: every sequence number exactly once, nothing else. */
async function verifyAll(bus: Bus, host: string, total: number): Promise<boolean> {
  const seen = new Uint8Array(total);
  let n = 0;
  let bad = 0;
  const c = await bus.js.consumers.get(LOGS_STREAM, { filter_subjects: linesSubject(host) });
  // Few messages per pull: with the default (100 messages of up to half a megabyte each) this
  // read was seen to stall for seconds, well after everything had been stored.
  const messages = await c.consume({ max_messages: 8 });
  // A duplicate would make n reach total early with a line missing: read on until the stream is
  // quiet, so extra lines are seen too.
  let idle: NodeJS.Timeout = setTimeout(() => void messages.close(), 5_000);
  for await (const m of messages) {
    clearTimeout(idle);
    idle = setTimeout(() => void messages.close(), n >= total ? 500 : 5_000);
    for (const l of decodeBatch(m.data).lines) {
      const s = seqOf(l.text);
      if (s < 0 || s >= total || seen[s]) bad++;
      else seen[s] = 1;
      n++;
    }
  }
  clearTimeout(idle);
  let missing = 0;
  for (let i = 0; i < total; i++) if (!seen[i]) missing++;
  if (bad > 0 || n !== total) console.log(`  verification: read ${n} lines, ${bad} repeated or foreign, ${missing} missing`);
  return bad === 0 && n === total;
}
