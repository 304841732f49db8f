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
  const candidates = await rotationCandidates(path);
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

async function rotationCandidates(path: string): Promise<string[]> {
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
  const out: string[] = [];
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
        if (e.startsWith(b) && rest.length > 1 && '.-_'.includes(rest[0] as string)) out.push(join(dir, e));
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
