import { open, readdir, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { FilePosition } from '../../positions/position-store.js';
import { headMatches, readHeadBytes } from './head.js';

/** Compressed rotations cannot be tailed; their content was (or is lost) before compression. */
const COMPRESSED = /\.(gz|bz2|xz|zst|lz4|lzma|z|zip)$/i;

/**
 * Finds where a file we were reading went: among its siblings named like rotations of it
 * (`auth.log.1`, `auth.log-20260101`, `auth.log_old`), first the same inode with the same head
 * (rename rotation), then a different inode starting with the same head and at least as long as our
 * offset (copytruncate made a copy, then emptied the original). Null when neither exists.
 */
export async function findPredecessor(path: string, saved: FilePosition): Promise<string | null> {
  const candidates = (await rotationCandidates(path)).map((c) => c.path);
  const checked: { path: string; sameInode: boolean }[] = [];
  for (const c of candidates) {
    try {
      const st = await stat(c, { bigint: true });
      if (!st.isFile() || Number(st.size) < saved.offset) continue;
      checked.push({ path: c, sameInode: st.dev.toString() === saved.dev && st.ino.toString() === saved.ino });
    } catch {
      // Vanished between readdir and stat (another rotation step): not it.
    }
  }
  checked.sort((a, b) => Number(b.sameInode) - Number(a.sameInode));
  for (const c of checked) {
    if (!c.sameInode && saved.headLen === 0) continue;
    if (await startsWithHead(c.path, saved)) return c.path;
  }
  return null;
}

/** `auth.log.1`, `auth.log-20260101`, `auth.log.2026-01-01_03`: what logrotate names generations. */
const GENERATION_SUFFIX = /^[.\-_]\d[\d\-_]*$/;

/**
 * Rotated generations newer than `older` (a file found by findPredecessor): written after it, so
 * never read by us if our saved position was in `older`. Happens when the collector was down across
 * two or more rotations. Only strictly rotation-shaped names count (a stray `auth.log.bak` is not
 * a generation), `exclude` (the live file, files already being read) is skipped, and the result is oldest first by mtime.
 */
export async function findNewerGenerations(path: string, older: string, exclude: { dev: string; ino: string }[]): Promise<string[]> {
  const olderSt = await stat(older, { bigint: true });
  const found: { path: string; mtime: bigint }[] = [];
  for (const { path: c, suffix } of await rotationCandidates(path)) {
    if (c === older || !GENERATION_SUFFIX.test(suffix)) continue;
    try {
      const st = await stat(c, { bigint: true });
      if (!st.isFile() || (st.dev === olderSt.dev && st.ino === olderSt.ino)) continue;
      if (exclude.some((x) => st.dev.toString() === x.dev && st.ino.toString() === x.ino)) continue;
      // Strictly later: with an equal mtime the order is unknown, and replaying an old file would
      // be worse than missing a generation that was rotated within the same clock tick.
      if (st.mtimeNs > olderSt.mtimeNs) found.push({ path: c, mtime: st.mtimeNs });
    } catch {
      // Vanished meanwhile.
    }
  }
  found.sort((a, b) => (a.mtime < b.mtime ? -1 : a.mtime > b.mtime ? 1 : 0));
  return found.map((f) => f.path);
}

async function rotationCandidates(path: string): Promise<{ path: string; suffix: string }[]> {
  const places = new Map<string, Set<string>>();
  const add = (p: string): void => {
    const d = dirname(p);
    const names = places.get(d) ?? new Set<string>();
    names.add(basename(p));
    places.set(d, names);
  };
  add(path);
  try {
    add(await realpath(path));
  } catch {
    // The path is gone (deleted or rotated away with nothing re-created): its own directory is enough.
  }
  const out: { path: string; suffix: string }[] = [];
  for (const [dir, bases] of places) {
    let entries: string[];
    try {
      entries = await readdir(dir);
    } catch {
      continue;
    }
    for (const e of entries) {
      if (COMPRESSED.test(e)) continue;
      for (const b of bases) {
        const rest = e.slice(b.length);
        if (e.startsWith(b) && rest.length > 1 && '.-_'.includes(rest[0] as string)) out.push({ path: join(dir, e), suffix: rest });
      }
    }
  }
  return out;
}

async function startsWithHead(path: string, saved: FilePosition): Promise<boolean> {
  try {
    const fh = await open(path, 'r');
    try {
      return headMatches(await readHeadBytes(fh), { len: saved.headLen, hash: saved.headHash });
    } finally {
      await fh.close();
    }
  } catch {
    return false;
  }
}
