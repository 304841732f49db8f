import type { ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempDir, readStdoutLine, sleep, spawnFixture, waitFor } from './helpers.js';
import { lineText, shiftGenerations } from './log-writer.js';

/**
 * The collector is killed with SIGKILL four times while a writer appends and the log is rotated
 * twice. The child's sink (see fixtures/kill9-child.ts) appends each chunk as one record before
 * resolving, cuts a torn last record on start and acknowledges an already-recorded chunk id without
 * writing it again, as JetStream's duplicate window does. The source saves each chunk as pending
 * (range and id) before handing it over and re-sends exactly that after a crash, so whatever
 * instant the kill hits, the output ends up with every line exactly once.
 */
describe('file source: kill -9', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let child: ChildProcess | null = null;
  let childLog = '';

  beforeEach(async () => {
    ({ dir, cleanup } = await makeTempDir());
  });
  afterEach(async () => {
    child?.kill('SIGKILL');
    child = null;
    await cleanup();
  });

  function outputLines(outFile: string): string[] {
    let text: string;
    try {
      text = readFileSync(outFile, 'utf8');
    } catch {
      return [];
    }
    const complete = text.slice(0, text.lastIndexOf('\n') + 1);
    return complete
      .split('\n')
      .filter(Boolean)
      .flatMap((r) => (JSON.parse(r) as { lines: string[] }).lines);
  }

  async function startChild(logPath: string, outFile: string): Promise<ChildProcess> {
    const c = spawnFixture('kill9-child.ts', [logPath, dir, outFile]);
    c.stderr?.on('data', (d: Buffer) => {
      childLog += d.toString();
    });
    await readStdoutLine(c, (l) => (l === 'ready' ? true : undefined), 30_000);
    return c;
  }

  async function kill9(c: ChildProcess): Promise<void> {
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGKILL');
    await exited;
  }

  it('loses and repeats no line across repeated SIGKILLs and rotations', async () => {
    const logPath = join(dir, 'auth.log');
    const outFile = join(dir, 'out.jsonl');
    await writeFile(logPath, '');
    const total = 100_000;
    const rotateAt = new Set([30_000, 75_000]);

    // The first collector is up before the first line: with no saved position, a file rotated
    // before it ever started would not be its business.
    child = await startChild(logPath, outFile);
    let written = 0;
    const writer = (async () => {
      let fd = openSync(logPath, 'a');
      while (written < total) {
        if (rotateAt.has(written)) {
          shiftGenerations(logPath, 3);
          renameSync(logPath, `${logPath}.1`);
          closeSync(fd);
          fd = openSync(logPath, 'a');
        }
        let s = '';
        const end = Math.min(total, written + 500, ...[...rotateAt].filter((r) => r > written));
        for (; written < end; written++) s += `${lineText(written)}\n`;
        writeSync(fd, s);
        await sleep(15);
      }
      closeSync(fd);
    })();

    for (let k = 0; k < 4; k++) {
      child ??= await startChild(logPath, outFile);
      const before = outputLines(outFile).length;
      // Kill while lines are flowing, at a point that differs from run to run.
      await waitFor(() => outputLines(outFile).length > before + 2000 || written >= total, 30_000, () => 'progress before kill', 50);
      await sleep(Math.floor(Math.random() * 100));
      await kill9(child);
      child = null;
    }
    await writer;
    child = await startChild(logPath, outFile);
    await waitFor(() => outputLines(outFile).length >= total, 60_000, () => {
      const have = new Set(outputLines(outFile));
      const missing: number[] = [];
      for (let i = 0; i < total; i++) if (!have.has(lineText(i))) missing.push(i);
      return `output has ${have.size} of ${total} lines; missing ${missing.length}: first ${missing.slice(0, 2).join()} last ${missing.slice(-2).join()}; positions ${readFileSync(join(dir, 'positions.json'), 'utf8')}; ${childLog}`;
    }, 200);
    await sleep(500);
    const exited = new Promise((r) => child?.once('exit', r));
    child.kill('SIGTERM');
    await exited;
    child = null;

    const out = outputLines(outFile);
    const counts = new Map<string, number>();
    for (const l of out) counts.set(l, (counts.get(l) ?? 0) + 1);
    expect([...counts].filter(([, c]) => c > 1).slice(0, 5)).toEqual([]);
    const missing: number[] = [];
    for (let i = 0; i < total; i++) if (!counts.has(lineText(i))) missing.push(i);
    expect(missing.slice(0, 5)).toEqual([]);
    expect(out).toHaveLength(total);
    expect(out.every((l, i) => i === 0 || l > (out[i - 1] as string))).toBe(true);
  }, 180_000);
});
