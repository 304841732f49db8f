import { appendFileSync, renameSync, writeFileSync } from 'node:fs';
import { appendFile, rename, truncate, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { captureLog, makeTempDir, RecordingSink, sleep, startSource, waitFor, type Running } from './helpers.js';
import { sourceLines } from '../../src/sources/source.js';
import { lineText, runWriter, type RotationMode } from './log-writer.js';

/** Every line 0..total-1 exactly once, and apart from late writes to a renamed file, in order. */
function expectExactlyOnce(texts: string[], total: number, late: number[]): void {
  const seen = new Map<string, number>();
  for (const t of texts) seen.set(t, (seen.get(t) ?? 0) + 1);
  const dupes = [...seen].filter(([, c]) => c > 1).map(([t]) => t);
  expect(dupes.slice(0, 5)).toEqual([]);
  const missing: number[] = [];
  for (let i = 0; i < total; i++) if (!seen.has(lineText(i))) missing.push(i);
  expect(missing.slice(0, 5)).toEqual([]);
  expect(texts.length).toBe(total);
  const lateSet = new Set(late.map(lineText));
  const inOrder = texts.filter((t) => !lateSet.has(t));
  const firstDisorder = inOrder.findIndex((t, i) => i > 0 && t < (inOrder[i - 1] as string));
  expect(firstDisorder).toBe(-1);
}

describe('file source: rotation under load', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let running: Running | null = null;

  beforeEach(async () => {
    ({ dir, cleanup } = await makeTempDir());
  });
  afterEach(async () => {
    await running?.stop();
    running = null;
    await cleanup();
  });

  for (const mode of ['rename', 'copytruncate'] as RotationMode[]) {
    it(`${mode}: 200k lines written at full speed with 4 rotations arrive exactly once`, async () => {
      const path = join(dir, 'auth.log');
      await writeFile(path, '');
      const sink = new RecordingSink();
      const { log, entries } = captureLog();
      running = await startSource(dir, sink.sink, { patterns: [{ glob: path, jails: ['sshd'], fromStart: false }], rotateWaitMs: 500, log });
      const total = 200_000;
      const late = mode === 'rename' ? 50 : 0;
      const started = Date.now();
      const written = await runWriter({
        path,
        total,
        linesPerWrite: 100,
        rotateBefore: [40_000, 80_000, 120_000, 160_000],
        mode,
        keep: 3,
        lateLinesAfterRename: late,
        // Rotate once the source reads the current generation (it saw that generation's first line)
        // but typically long before it has caught up: the unread rest must come from the old fd
        // (rename) or from the copy (copytruncate). Two rotations within one poll are not a case
        // logrotate produces.
        beforeRotate: (n) => {
          const first = n === 40_000 ? 0 : n - 40_000 + late;
          return waitFor(() => sink.has(lineText(first)), 20_000, () => `line ${first} before rotating`);
        },
      });
      await sink.waitForLines(total, 30_000).catch((e: Error) => {
        const missing: number[] = [];
        for (let i = 0; i < total; i++) if (!sink.has(lineText(i))) missing.push(i);
        throw new Error(`${e.message}; ${missing.length} missing, first ${missing.slice(0, 3).join()} last ${missing.slice(-3).join()}`);
      });
      await sleep(700); // past rotateWaitMs: nothing more may arrive
      expectExactlyOnce(sink.texts(), total, written.late);
      expect(Date.now() - started).toBeLessThan(30_000);
      // Each rotation went through the path under test (rename: old fd drained; copytruncate: the
      // unread rest taken from the copy), not through some fallback.
      // ('file removed' when a stat ran between the writer's rename and its re-creation.)
      const expected = mode === 'rename' ? /^file (rotated|removed)/ : /^file truncated in place; reading the rest from its copy/;
      expect(entries().filter((e) => expected.test(String(e.msg)))).toHaveLength(4);
      expect(entries().filter((e) => e.level === 40 && String(e.msg).includes('lost'))).toEqual([]);
    });
  }

  it('a file deleted and re-created is read from the start of the new file', async () => {
    const path = join(dir, 'app.log');
    await writeFile(path, '');
    const sink = new RecordingSink();
    running = await startSource(dir, sink.sink, { patterns: [{ glob: path, jails: ['a'], fromStart: false }] });
    await appendFile(path, 'one\ntwo\n');
    await sink.waitForLines(2);
    await unlink(path);
    await sleep(50);
    await writeFile(path, 'three\n');
    await sink.waitForLines(3);
    await appendFile(path, 'four\n');
    await sink.waitForLines(4);
    await sleep(100);
    expect(sink.texts()).toEqual(['one', 'two', 'three', 'four']);
  });

  it('a file truncated in place (no copy anywhere) is read again from its start', async () => {
    const path = join(dir, 'app.log');
    await writeFile(path, '');
    const sink = new RecordingSink();
    running = await startSource(dir, sink.sink, { patterns: [{ glob: path, jails: ['a'], fromStart: false }] });
    await appendFile(path, 'aaaaaaaaaa-1\naaaaaaaaaa-2\n');
    await sink.waitForLines(2);
    await truncate(path, 0);
    await appendFile(path, 'b-1\n');
    await sink.waitForLines(3);
    expect(sink.texts()).toEqual(['aaaaaaaaaa-1', 'aaaaaaaaaa-2', 'b-1']);
  });

  it('a file replaced in place by longer content (same inode, new head) is read from its start', async () => {
    const path = join(dir, 'app.log');
    await writeFile(path, '');
    const sink = new RecordingSink();
    running = await startSource(dir, sink.sink, { patterns: [{ glob: path, jails: ['a'], fromStart: false }] });
    await appendFile(path, 'old-1\n');
    await sink.waitForLines(1);
    // Rewritten through the same inode and already longer than our offset when we look again.
    await writeFile(path, 'new-1 rewritten\nnew-2 rewritten\n');
    await sink.waitForLines(3);
    await sleep(100);
    expect(sink.texts()).toEqual(['old-1', 'new-1 rewritten', 'new-2 rewritten']);
  });

  it('reads the whole old file before the new one on a rename rotation', async () => {
    const path = join(dir, 'app.log');
    await writeFile(path, '');
    const sink = new RecordingSink();
    running = await startSource(dir, sink.sink, { patterns: [{ glob: path, jails: ['a'], fromStart: false }], pollIntervalMs: 5_000 });
    await appendFile(path, 'old-1\n');
    await sink.waitForLines(1);
    // All at once, before the source looks: the tail of the old file must still come first.
    await appendFile(path, 'old-2\nold-3\n');
    await rename(path, `${path}.1`);
    await writeFile(path, 'new-1\n');
    await sink.waitForLines(4);
    expect(sink.texts()).toEqual(['old-1', 'old-2', 'old-3', 'new-1']);
  });

  it('reads a generation that was rotated away again before it could be opened', async () => {
    const path = join(dir, 'app.log');
    await writeFile(path, '');
    const sink = new RecordingSink();
    const inner = sink.sink;
    let rotatedAgain = false;
    // The second rotation happens inside the delivery of the old file's tail, i.e. after the source
    // stat'ed the path (seeing gen2) and before it opens it (finding gen3).
    const sinkThatRotates: typeof inner = async (chunk) => {
      await inner(chunk);
      if (!rotatedAgain && sourceLines(chunk.lines).some((l) => l.text === 'gen1-last')) {
        rotatedAgain = true;
        renameSync(`${path}.1`, `${path}.2`);
        renameSync(path, `${path}.1`);
        writeFileSync(path, 'gen3-line\n');
      }
    };
    running = await startSource(dir, sinkThatRotates, { patterns: [{ glob: path, jails: ['a'], fromStart: false }], pollIntervalMs: 5_000 });
    await appendFile(path, 'gen1-first\n');
    await sink.waitForLines(1);
    await sleep(100); // the source is idle now: no read in flight
    // One synchronous block: no step can run in between, so gen1-last is read while draining gen1
    // after the rotation was noticed (the window this test is about), not before.
    appendFileSync(path, 'gen1-last\n');
    renameSync(path, `${path}.1`);
    writeFileSync(path, 'gen2-line\n');
    await sink.waitForLines(4);
    await sleep(100);
    expect(rotatedAgain).toBe(true);
    expect(sink.texts()).toEqual(['gen1-first', 'gen1-last', 'gen2-line', 'gen3-line']);
  });
});
