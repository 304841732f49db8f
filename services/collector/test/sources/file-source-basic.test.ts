import { appendFile, mkdir, rename, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '@portcullis/shared';
import { captureLog, expectedNumbered, makeTempDir, numbered, RecordingSink, sleep, startSource, type Running } from './helpers.js';
import { sourceLines } from '../../src/sources/source.js';

describe('file source: reading', () => {
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

  it('delivers appended lines in order, exactly once, joining a line written in pieces', async () => {
    const log = join(dir, 'auth.log');
    await writeFile(log, '');
    const sink = new RecordingSink();
    running = await startSource(dir, sink.sink, { patterns: [{ glob: log, jails: ['sshd'], fromStart: false }] });
    for (let i = 0; i < 50; i++) await appendFile(log, numbered('a', i * 100, (i + 1) * 100));
    await appendFile(log, 'split-');
    await sleep(100);
    expect(sink.texts()).not.toContain('split-');
    await appendFile(log, 'line\nlast\n');
    await sink.waitForLines(5002);
    await sleep(100);
    expect(sink.texts()).toEqual([...expectedNumbered('a', 0, 5000), 'split-line', 'last']);
    expect(new Set(sink.chunks.map((c) => c.chunkId)).size).toBe(sink.chunks.length);
    for (const c of sink.chunks) {
      expect(c.origin).toBe(log);
      expect(c.jails).toEqual(['sshd']);
    }
  });

  it('starts at the end of a file present at first start, unless fromStart', async () => {
    const skip = join(dir, 'skip.log');
    const full = join(dir, 'full.log');
    await writeFile(skip, `${numbered('old', 0, 1000)}in-progress`);
    await writeFile(full, numbered('old', 0, 1000));
    const sink = new RecordingSink();
    running = await startSource(dir, sink.sink, {
      patterns: [
        { glob: skip, jails: ['a'], fromStart: false },
        { glob: full, jails: ['b'], fromStart: true },
      ],
    });
    await appendFile(skip, '-done\nnew1\n');
    await appendFile(full, 'new1\n');
    await sink.waitForLines(1003);
    await sleep(100);
    // The unfinished line present at start is completed and read whole, not as a fragment.
    expect(sink.texts(skip)).toEqual(['in-progress-done', 'new1']);
    expect(sink.texts(full)).toEqual([...expectedNumbered('old', 0, 1000), 'new1']);
  });

  it('picks up files that appear later, in a new directory too, reading them from the start', async () => {
    const sink = new RecordingSink();
    await mkdir(join(dir, 'www'));
    await writeFile(join(dir, 'www', 'access.log'), 'present-at-start\n');
    running = await startSource(dir, sink.sink, { patterns: [{ glob: join(dir, '*', 'access.log'), jails: ['web'], fromStart: false }], rescanIntervalMs: 200 });
    await mkdir(join(dir, 'api'));
    await writeFile(join(dir, 'api', 'access.log'), 'api-1\napi-2\n');
    await appendFile(join(dir, 'www', 'access.log'), 'www-1\n');
    await sink.waitForLines(3);
    await sleep(100);
    expect(sink.texts(join(dir, 'api', 'access.log'))).toEqual(['api-1', 'api-2']);
    expect(sink.texts(join(dir, 'www', 'access.log'))).toEqual(['www-1']);
    expect(sink.chunks.every((c) => c.jails.join() === 'web')).toBe(true);
  });

  it('a literal path that does not exist yet is read from its start once it appears', async () => {
    const log = join(dir, 'later.log');
    const sink = new RecordingSink();
    running = await startSource(dir, sink.sink, { patterns: [{ glob: log, jails: ['x'], fromStart: false }] });
    await sleep(50);
    await writeFile(log, 'first\nsecond\n');
    await sink.waitForLines(2);
    expect(sink.texts()).toEqual(['first', 'second']);
  });

  it('follows a symlink: reads the target, keys the position on the target identity', async () => {
    await mkdir(join(dir, 'real'));
    const target = join(dir, 'real', 'app.log');
    const link = join(dir, 'app.log');
    await writeFile(target, 'before\n');
    await symlink(target, link);
    const sink = new RecordingSink();
    running = await startSource(dir, sink.sink, { patterns: [{ glob: join(dir, '*.log'), jails: ['app'], fromStart: false }] });
    await appendFile(target, 'via-target\n');
    await sink.waitForLines(1);
    expect(sink.texts(link)).toEqual(['via-target']);
    const st = await stat(target, { bigint: true });
    await running.stop();
    const saved = running.positions.get(link)?.current;
    running = null;
    expect(saved?.ino).toBe(st.ino.toString());
    expect(saved?.offset).toBe(Number(st.size));
  });

  it('truncates an overlong line once, replaces invalid UTF-8, strips \\r, passes NUL and junk through', async () => {
    const log = join(dir, 'hostile.log');
    await writeFile(log, '');
    const sink = new RecordingSink();
    const { log: logger, entries } = captureLog();
    const max = 64 * 1024;
    running = await startSource(dir, sink.sink, { patterns: [{ glob: log, jails: ['h'], fromStart: false }], maxLineBytes: max, log: logger });
    const huge = Buffer.alloc(1024 * 1024, 'x');
    await appendFile(log, Buffer.concat([huge, Buffer.from('\nafter-huge\n')]));
    await appendFile(log, Buffer.concat([huge, Buffer.from('\n')]));
    await appendFile(log, Buffer.from([0x62, 0x61, 0x64, 0xff, 0xfe, 0xc3, 0x28, 0x0a])); // "bad" + invalid bytes
    await appendFile(log, 'crlf\r\nnul\u0000inside\n\u0001\u0002\u0003\n');
    await appendFile(log, `${'y'.repeat(max)}\r\n`); // exactly the limit, CRLF-terminated: not truncated
    await sink.waitForLines(8);
    await sleep(100);
    const texts = sink.texts();
    expect(texts.map((t) => t.length)).toEqual([max, 10, max, 7, 4, 10, 3, max]);
    expect(texts[0]).toBe('x'.repeat(max));
    expect(texts[1]).toBe('after-huge');
    expect(texts[3]).toBe('bad\ufffd\ufffd\ufffd(');
    expect(texts[4]).toBe('crlf');
    expect(texts[5]).toBe('nul\u0000inside');
    expect(texts[6]).toBe('\u0001\u0002\u0003');
    expect(texts[7]).toBe('y'.repeat(max));
    const warnings = entries().filter((e) => String(e.msg).includes('longer than maxLineBytes'));
    expect(warnings).toHaveLength(1);
  });

  it('stamps every line with its read time from the clock', async () => {
    const log = join(dir, 'clock.log');
    await writeFile(log, '');
    const clock = new ManualClock(Date.UTC(2026, 1, 2, 3, 4, 5));
    const sink = new RecordingSink();
    running = await startSource(dir, sink.sink, { patterns: [{ glob: log, jails: ['c'], fromStart: false }], clock });
    await appendFile(log, 'one\n');
    await sink.waitForLines(1);
    clock.advance(60_000);
    await appendFile(log, 'two\n');
    await sink.waitForLines(2);
    expect(sink.chunks.flatMap((c) => sourceLines(c.lines).map((l) => l.readAt))).toEqual([Date.UTC(2026, 1, 2, 3, 4, 5), Date.UTC(2026, 1, 2, 3, 5, 5)]);
  });

  it('publishes the unfinished last line of a file rotated away once it stays quiet', async () => {
    const log = join(dir, 'partial.log');
    await writeFile(log, '');
    const sink = new RecordingSink();
    running = await startSource(dir, sink.sink, { patterns: [{ glob: log, jails: ['p'], fromStart: false }], rotateWaitMs: 200 });
    await appendFile(log, 'complete\nno-newline-ever');
    await sink.waitForLines(1);
    await rename(log, `${log}.1`);
    await writeFile(log, 'fresh\n');
    await sink.waitForLines(3);
    await sleep(100);
    expect(sink.texts()).toEqual(['complete', 'fresh', 'no-newline-ever']);
  });

  it('with inotify off (backend = polling) lines still arrive, by the poll', async () => {
    const log = join(dir, 'polled.log');
    await writeFile(log, '');
    const sink = new RecordingSink();
    running = await startSource(dir, sink.sink, { patterns: [{ glob: log, jails: ['p'], fromStart: false }], useInotify: false, pollIntervalMs: 1000 });
    await sleep(1100); // just after a poll: the next one is ~900 ms away
    await appendFile(log, 'polled-1\n');
    await sleep(100);
    expect(sink.lineCount()).toBe(0); // no inotify wake-up
    await sink.waitForLines(1, 3000);
    expect(sink.texts()).toEqual(['polled-1']);
  });
});
