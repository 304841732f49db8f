import { appendFileSync, copyFileSync, truncateSync } from 'node:fs';
import { appendFile, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { captureLog, expectedNumbered, makeTempDir, numbered, RecordingSink, sleep, startSource, waitFor, type Running } from './helpers.js';
import { sourceLines } from '../../src/sources/source.js';

describe('file source: restart', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let running: Running | null = null;
  let logPath: string;
  const patterns = (): { glob: string; jails: string[]; fromStart: boolean }[] => [{ glob: logPath, jails: ['sshd'], fromStart: false }];

  beforeEach(async () => {
    ({ dir, cleanup } = await makeTempDir());
    logPath = join(dir, 'auth.log');
  });
  afterEach(async () => {
    await running?.stop();
    running = null;
    await cleanup();
  });

  /** Starts, reads lines 0..n, stops with the position saved. */
  async function firstRun(n: number): Promise<RecordingSink> {
    await writeFile(logPath, '');
    const sink = new RecordingSink();
    running = await startSource(dir, sink.sink, { patterns: patterns() });
    await appendFile(logPath, numbered('a', 0, n));
    await sink.waitForLines(n);
    await running.stop();
    running = null;
    return sink;
  }

  it('resumes at the saved position: lines appended while stopped arrive once, nothing repeats', async () => {
    const first = await firstRun(1000);
    await appendFile(logPath, numbered('a', 1000, 1500));
    const sink = new RecordingSink();
    running = await startSource(dir, sink.sink, { patterns: patterns() });
    await appendFile(logPath, numbered('a', 1500, 1600));
    await sink.waitForLines(600);
    await sleep(100);
    expect(first.texts()).toEqual(expectedNumbered('a', 0, 1000));
    expect(sink.texts()).toEqual(expectedNumbered('a', 1000, 1600));
  });

  it('after a rename rotation while stopped: the rest of the rotated file, then the new file', async () => {
    await firstRun(1000);
    await appendFile(logPath, numbered('a', 1000, 1200));
    await rename(logPath, `${logPath}.1`);
    await writeFile(logPath, numbered('a', 1200, 1300));
    const sink = new RecordingSink();
    running = await startSource(dir, sink.sink, { patterns: patterns() });
    await sink.waitForLines(300);
    await sleep(100);
    expect(sink.texts()).toEqual(expectedNumbered('a', 1000, 1300));
    expect(sink.texts(logPath)).toHaveLength(300); // origin stays the configured path
  });

  it('after two rotations while stopped: rest of the older, the whole middle one, then the new file', async () => {
    await firstRun(100);
    await writeFile(`${logPath}.bak`, numbered('not-a-generation', 0, 5));
    await appendFile(logPath, numbered('a', 100, 150));
    await sleep(20); // generations written one after the other have distinct mtimes
    await rename(logPath, `${logPath}.1`);
    await writeFile(logPath, numbered('a', 150, 200));
    await rename(`${logPath}.1`, `${logPath}.2`);
    await rename(logPath, `${logPath}.1`);
    await writeFile(logPath, numbered('a', 200, 210));
    const sink = new RecordingSink();
    running = await startSource(dir, sink.sink, { patterns: patterns() });
    await sink.waitForLines(110);
    await sleep(100);
    expect(sink.texts()).toEqual(expectedNumbered('a', 100, 210));
  });

  it('after a dateext rotation while stopped, with another old rotation beside it', async () => {
    await firstRun(100);
    await writeFile(`${logPath}-20250101`, numbered('ancient', 0, 50));
    await appendFile(logPath, numbered('a', 100, 150));
    await rename(logPath, `${logPath}-20260101`);
    await writeFile(logPath, numbered('a', 150, 160));
    const sink = new RecordingSink();
    running = await startSource(dir, sink.sink, { patterns: patterns() });
    await sink.waitForLines(60);
    await sleep(100);
    expect(sink.texts()).toEqual(expectedNumbered('a', 100, 160));
  });

  it('after a copytruncate while stopped: the rest from the copy, then the emptied file', async () => {
    await firstRun(1000);
    appendFileSync(logPath, numbered('a', 1000, 1200));
    copyFileSync(logPath, `${logPath}.1`);
    truncateSync(logPath, 0);
    appendFileSync(logPath, numbered('a', 1200, 1250));
    const sink = new RecordingSink();
    running = await startSource(dir, sink.sink, { patterns: patterns() });
    await sink.waitForLines(250);
    await sleep(100);
    expect(sink.texts()).toEqual(expectedNumbered('a', 1000, 1250));
  });

  it('a chunk pending at stop (sink down) is re-sent first, as the same range under the same id', async () => {
    await writeFile(logPath, '');
    const down = new RecordingSink();
    down.failing = true;
    running = await startSource(dir, down.sink, { patterns: patterns() });
    await appendFile(logPath, numbered('a', 0, 300));
    await waitFor(() => down.rejected >= 2, 5000, () => 'sink rejections');
    await running.stop();
    running = null;
    expect(down.rejectedIds.size).toBe(1);
    const saved = JSON.parse(await readFile(join(dir, 'positions.json'), 'utf8')) as { files: Record<string, { current: { offset: number; pending?: { chunkId: string } } }> };
    expect(saved.files[logPath]?.current.offset).toBe(0);
    expect(saved.files[logPath]?.current.pending?.chunkId).toBe([...down.rejectedIds][0]);

    await appendFile(logPath, numbered('a', 300, 400));
    const sink = new RecordingSink();
    running = await startSource(dir, sink.sink, { patterns: patterns(), batchMaxLines: 50 });
    await sink.waitForLines(400);
    await sleep(100);
    // Same id and same lines even though more lines are there now and the batch limit changed.
    expect(sink.chunks[0]?.chunkId).toBe([...down.rejectedIds][0]);
    expect(sourceLines(sink.chunks[0]?.lines ?? []).map((l) => l.text)).toEqual(expectedNumbered('a', 0, 300));
    expect(sink.texts()).toEqual(expectedNumbered('a', 0, 400));
  });

  it('a rotated file still being drained at stop is found by inode and finished on restart', async () => {
    await writeFile(logPath, '');
    const sink1 = new RecordingSink();
    const { log, entries } = captureLog();
    running = await startSource(dir, sink1.sink, { patterns: patterns(), rotateWaitMs: 60_000, log });
    await appendFile(logPath, numbered('a', 0, 10));
    await sink1.waitForLines(10);
    await rename(logPath, `${logPath}.1`);
    await writeFile(logPath, numbered('b', 0, 5));
    await sink1.waitForLines(15);
    // 'file removed' when the source looked between the rename and the re-creation.
    await waitFor(() => entries().some((e) => /^file (rotated|removed)/.test(String(e.msg))), 5000, () => 'rotation noticed');
    // The daemon still writes to the renamed file; the bus is down meanwhile.
    sink1.failing = true;
    await appendFile(`${logPath}.1`, numbered('late', 0, 20));
    await waitFor(() => sink1.rejected >= 1, 5000, () => 'late lines offered');
    await running.stop();
    running = null;
    const saved = JSON.parse(await readFile(join(dir, 'positions.json'), 'utf8')) as { files: Record<string, { rotated: unknown[] }> };
    expect(saved.files[logPath]?.rotated).toHaveLength(1);

    const sink2 = new RecordingSink();
    running = await startSource(dir, sink2.sink, { patterns: patterns() });
    await sink2.waitForLines(20);
    await sleep(100);
    expect(sink1.texts()).toEqual([...expectedNumbered('a', 0, 10), ...expectedNumbered('b', 0, 5)]);
    expect(sink2.texts()).toEqual(expectedNumbered('late', 0, 20));
  });

  it('a corrupt positions file is moved aside and the source still starts', async () => {
    await writeFile(join(dir, 'positions.json'), '{"version":1,"files":{"/x":{"current":{"dev":1');
    await writeFile(logPath, 'existing\n');
    const sink = new RecordingSink();
    running = await startSource(dir, sink.sink, { patterns: patterns() });
    await appendFile(logPath, 'new\n');
    await sink.waitForLines(1);
    expect(sink.texts()).toEqual(['new']);
    expect((await readdir(dir)).some((f) => f.startsWith('positions.json.corrupt-'))).toBe(true);
  });
});
