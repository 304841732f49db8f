import { open, stat } from 'node:fs/promises';
import type { Logger } from '@portcullis/shared';
import type { FilePosition, PathPositions } from '../../positions/position-store.js';
import { FileReader } from './file-reader.js';
import { findNewerGenerations, findPredecessor } from './predecessor.js';

/** 'end': a file present at first start is read from its end; 'start': from its beginning. */
export type StartMode = 'end' | 'start';

export interface Restored {
  current: FileReader | null;
  /** Older generations to finish first, oldest first. */
  old: FileReader[];
}

/** How far back to look for the start of an unfinished last line when starting at the end. */
const TAIL_SCAN_BYTES = 64 * 1024;

/**
 * Opens what must be read for `path` when tailing begins. With a saved position: the same file
 * (dev, inode and head) resumes at its offset; a file rotated or copy-truncated while we were down
 * is looked for among its rotated siblings and its remainder read first, then the new file from its
 * start. Without one, the file is read from its end (or start, by mode).
 */
export async function restoreReaders(
  path: string,
  saved: PathPositions | undefined,
  mode: StartMode,
  maxLineBytes: number,
  log: Pick<Logger, 'info' | 'warn'>,
): Promise<Restored> {
  const out: Restored = { current: null, old: [] };
  try {
    for (const r of saved?.rotated ?? []) await openPredecessor(path, r, 'was draining a rotated file when stopped', out, maxLineBytes, log);
    const st = await stat(path, { bigint: true }).catch(() => null);
    const present = st !== null && st.isFile();
    const cur = saved?.current;
    if (cur && present && st.dev.toString() === cur.dev && st.ino.toString() === cur.ino) {
      const reader = await FileReader.open(path, atSaved(cur), maxLineBytes);
      if (reader.dev === cur.dev && reader.ino === cur.ino && (await reader.verifyAndExtendHead())) {
        out.current = reader;
        return out;
      }
      await reader.close();
    }
    if (cur) {
      const same = present && st.dev.toString() === cur.dev && st.ino.toString() === cur.ino;
      const why = same ? 'truncated or replaced in place while stopped' : present ? 'rotated while stopped' : 'gone while stopped';
      const pred = await openPredecessor(path, cur, why, out, maxLineBytes, log);
      const exclude = out.old.map((r) => ({ dev: r.dev, ino: r.ino }));
      if (present) exclude.push({ dev: st.dev.toString(), ino: st.ino.toString() });
      if (pred) await openNewerGenerations(path, pred, exclude, out, maxLineBytes, log);
    }
    if (!present) return out;
    const offset = saved || mode === 'start' ? 0 : await lastLineStart(path);
    out.current = await FileReader.open(path, { offset }, maxLineBytes);
    return out;
  } catch (e) {
    await Promise.all([out.current, ...out.old].map((r) => r?.close()));
    throw e;
  }
}

async function openPredecessor(
  path: string,
  pos: FilePosition,
  why: string,
  out: Restored,
  maxLineBytes: number,
  log: Pick<Logger, 'info' | 'warn'>,
): Promise<string | null> {
  const pred = await findPredecessor(path, pos);
  if (!pred) {
    log.warn({ path, offset: pos.offset, why }, 'the previous file could not be found among its rotated names; its unread remainder is lost');
    return null;
  }
  log.info({ path, from: pred, offset: pos.offset, why }, 'reading the remainder of the previous file first');
  try {
    out.old.push(await FileReader.open(pred, atSaved(pos), maxLineBytes));
    return pred;
  } catch (e) {
    log.warn({ path, from: pred, err: (e as Error).message }, 'the previous file could not be opened; its unread remainder is lost');
    return null;
  }
}

/** Generations rotated after `pred` while we were down: never read, so read whole, oldest first. */
async function openNewerGenerations(
  path: string,
  pred: string,
  exclude: { dev: string; ino: string }[],
  out: Restored,
  maxLineBytes: number,
  log: Pick<Logger, 'info' | 'warn'>,
): Promise<void> {
  for (const g of await findNewerGenerations(path, pred, exclude)) {
    log.info({ path, from: g }, 'reading a whole generation rotated while stopped');
    try {
      out.old.push(await FileReader.open(g, { offset: 0 }, maxLineBytes));
    } catch (e) {
      log.warn({ path, from: g, err: (e as Error).message }, 'a generation rotated while stopped could not be opened; its lines are lost');
    }
  }
}

function atSaved(pos: FilePosition): { offset: number; head: { len: number; hash: string }; pending?: FilePosition['pending'] } {
  return { offset: pos.offset, head: { len: pos.headLen, hash: pos.headHash }, ...(pos.pending ? { pending: pos.pending } : {}) };
}

/**
 * The start of the last, unfinished line (the end of the file when it ends with \n), so that
 * starting "at the end" does not publish the tail of a line a writer is in the middle of.
 */
async function lastLineStart(path: string): Promise<number> {
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const n = Math.min(size, TAIL_SCAN_BYTES);
    const buf = Buffer.allocUnsafe(n);
    const { bytesRead } = await fh.read(buf, 0, n, size - n);
    const nl = buf.subarray(0, bytesRead).lastIndexOf(10);
    if (nl !== -1) return size - n + nl + 1;
    return size <= TAIL_SCAN_BYTES ? 0 : size;
  } finally {
    await fh.close();
  }
}
