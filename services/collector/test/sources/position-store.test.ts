import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PositionStore, type PathPositions } from '../../src/positions/position-store.js';
import { captureLog, makeTempDir } from './helpers.js';

const sample = (offset: number): PathPositions => ({
  current: { dev: '2049', ino: '18446744073709551557', offset, headLen: 1024, headHash: 'abcdef0123456789' },
  rotated: [{ dev: '2049', ino: '77', offset: 5, headLen: 10, headHash: '0011223344556677', pending: { start: 5, end: 90, chunkId: '2049:77:0011223344556677:5' } }],
});

describe('PositionStore', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ dir, cleanup } = await makeTempDir());
  });
  afterEach(async () => cleanup());

  it('round-trips positions (64-bit inode exactly) through the file, leaving no temp file', async () => {
    const file = join(dir, 'positions.json');
    const a = await PositionStore.open(file);
    expect(a.get('/var/log/auth.log')).toBeUndefined();
    a.set('/var/log/auth.log', sample(123));
    await a.flush();
    const b = await PositionStore.open(file);
    expect(b.get('/var/log/auth.log')).toEqual(sample(123));
    expect(await readdir(dir)).toEqual(['positions.json']);
  });

  it('a flush waits for every earlier change; concurrent flushes share writes', async () => {
    const file = join(dir, 'positions.json');
    const s = await PositionStore.open(file);
    const flushes: Promise<void>[] = [];
    for (let i = 0; i < 50; i++) {
      s.set(`/p/${i % 5}`, sample(i));
      flushes.push(s.flush());
    }
    await Promise.all(flushes);
    const doc = JSON.parse(await readFile(file, 'utf8')) as { files: Record<string, PathPositions> };
    for (let k = 0; k < 5; k++) expect(doc.files[`/p/${k}`]?.current?.offset).toBe(45 + k);
  });

  it('returns copies: mutating what get() returned does not change the store', async () => {
    const s = await PositionStore.open(join(dir, 'positions.json'));
    s.set('/a', sample(1));
    const got = s.get('/a') as PathPositions;
    (got.current as { offset: number }).offset = 999;
    expect(s.get('/a')?.current?.offset).toBe(1);
  });

  it.each([
    ['not JSON', '{"version":1,'],
    ['wrong version', '{"version":2,"files":{}}'],
    ['negative offset', '{"version":1,"files":{"/a":{"current":{"dev":"1","ino":"2","offset":-1,"headLen":0,"headHash":""},"rotated":[]}}}'],
    ['numeric inode', '{"version":1,"files":{"/a":{"current":{"dev":"1","ino":2,"offset":0,"headLen":0,"headHash":""},"rotated":[]}}}'],
  ])('a corrupt file (%s) is moved aside with a warning and the store starts empty', async (_what, text) => {
    const file = join(dir, 'positions.json');
    await writeFile(file, text);
    const { log, entries } = captureLog();
    const s = await PositionStore.open(file, { log });
    expect(s.paths()).toEqual([]);
    const files = await readdir(dir);
    expect(files.some((f) => f.startsWith('positions.json.corrupt-'))).toBe(true);
    expect(entries().some((e) => e.level === 40 && String(e.msg).includes('corrupt'))).toBe(true);
  });
});
