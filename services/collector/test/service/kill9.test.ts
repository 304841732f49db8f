import { closeSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { STREAMS } from '@portcullis/shared';
import { lineText, shiftGenerations } from '../sources/log-writer.js';
import { ServiceEnv } from './service-env.js';
import { checkExactlyOnce } from './stream-lines.js';

const rank = (text: string): number => Number(text.slice(1, 8));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Chunk ids recorded as pending (handed to the bus, not confirmed) in the positions file on disk. */
function pendingOnDisk(stateDir: string): string[] {
  let doc: { files: Record<string, { current: { pending?: { chunkId: string } } | null; rotated: { pending?: { chunkId: string } }[] }> };
  try {
    doc = JSON.parse(readFileSync(join(stateDir, 'collector', 'positions.json'), 'utf8')) as typeof doc;
  } catch {
    return [];
  }
  return Object.values(doc.files).flatMap((f) => [f.current, ...f.rotated].flatMap((p) => (p?.pending ? [p.pending.chunkId] : [])));
}

/**
 * kill -9 of the collector process, four times, while a writer appends and rotates: every line
 * reaches JetStream exactly once. A chunk pending at the crash is re-sent on restart as the same
 * byte range under the same message id; if it had already been stored, JetStream's duplicate window
 * drops the copy. Two of the kills are aimed at exactly that case: the chunk recorded as pending on
 * disk is already on the stream when the process dies.
 */
describe('collector process: kill -9 mid-stream', () => {
  let env: ServiceEnv;

  beforeEach(async () => {
    env = await ServiceEnv.create();
  });
  afterEach(async () => {
    await env.dispose();
  });

  it('loses and repeats no line across four SIGKILLs and a rotation', async () => {
    const path = env.path('auth.log');
    await writeFile(path, '');
    env.configure([{ name: 'sshd', logpath: path }]);
    let collector = await env.startCollector();
    const lines = await env.readLines();

    // Restarts happen within seconds; the window that makes re-sends harmless must be far longer.
    const info = await lines.bus.jsm.streams.info(STREAMS.logs.name);
    expect(info.config.duplicate_window).toBeGreaterThanOrEqual(120e9);

    // The writer runs until told to stop; the rotation comes at line 60,000, whenever that is.
    const rotateAt = 60_000;
    let written = 0;
    let pace = 2; // ms between writes of 200 lines; slowed for the aimed kills
    let stop = false;
    const writer = (async () => {
      let fd = openSync(path, 'a');
      while (!stop) {
        if (written === rotateAt) {
          shiftGenerations(path, 3);
          renameSync(path, `${path}.1`);
          closeSync(fd);
          fd = openSync(path, 'a');
        }
        let s = '';
        const end = written < rotateAt ? Math.min(rotateAt, written + 200) : written + 200;
        for (; written < end; written++) s += `${lineText(written)}\n`;
        writeSync(fd, s);
        await sleep(pace);
      }
      closeSync(fd);
    })();

    const kill9 = async (): Promise<void> => {
      await collector.stop('SIGKILL');
      const restartedAt = Date.now();
      collector = await env.startCollector();
      expect(Date.now() - restartedAt).toBeLessThan(30_000);
    };
    // Two kills at arbitrary points while lines flow fast, one of them before and one after the
    // rotation (which may well happen while no collector runs).
    for (const atLeast of [20_000, 70_000]) {
      await lines.waitForLines(atLeast, 30_000);
      await sleep(Math.floor(Math.random() * 50));
      await kill9();
    }
    // Two kills at the moment a chunk is both on the stream and still pending on disk (after the
    // ack, before the position is next written): slower writes leave that state for ~100 ms.
    pace = 60;
    for (let k = 0; k < 2; k++) {
      const deadline = Date.now() + 30_000;
      let hit: string | undefined;
      while (!hit && Date.now() < deadline) {
        hit = pendingOnDisk(env.stateDir).find((id) => lines.hasChunk(id));
        if (!hit) await sleep(2);
      }
      expect(hit, 'a chunk on the stream and still pending on disk').toBeDefined();
      await kill9();
    }
    pace = 2;
    await sleep(1000);
    stop = true;
    await writer;
    const total = written;
    expect(total).toBeGreaterThan(rotateAt);

    await lines.waitForLines(total, 60_000, () => `missing e.g. ${JSON.stringify(checkExactlyOnce(lines, [lineText(0)], rank).missing)}`);
    await sleep(1000);
    const expected = Array.from({ length: total }, (_, i) => lineText(i));
    expect(checkExactlyOnce(lines, expected, rank)).toEqual({ duplicates: [], missing: [], missingCount: 0, unexpected: 0, firstDisorder: null });
    expect(lines.total).toBe(total);
    expect(lines.duplicateIds).toEqual([]);
    expect(collector.alive).toBe(true);
  }, 180_000);
});
