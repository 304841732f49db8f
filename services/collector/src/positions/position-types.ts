/**
 * A chunk handed to the sink but not yet confirmed. Saved before the hand-off so that after a crash
 * exactly the same byte range is re-sent under the same id, and the bus's duplicate detection can
 * drop it if the first attempt had in fact arrived.
 */
export interface PendingChunk {
  start: number;
  end: number;
  chunkId: string;
}

/** Where reading of one file (one inode generation) stands. */
export interface FilePosition {
  /** Device and inode as decimal strings: 64-bit values do not fit a JS number exactly. */
  dev: string;
  ino: string;
  /** First byte not yet delivered; always the start of a line. */
  offset: number;
  /** How many leading bytes headHash covers (up to 1 KiB; less while the file was shorter). */
  headLen: number;
  /** Hash of the first headLen bytes: tells a replaced file that reuses the inode from the original. */
  headHash: string;
  pending?: PendingChunk;
}

/**
 * Everything saved for one configured path: the file now at that path, and older generations
 * (rotated or deleted files) whose tail was still being drained.
 */
export interface PathPositions {
  current: FilePosition | null;
  rotated: FilePosition[];
}

export function parsePositionsFile(text: string): Map<string, PathPositions> {
  const doc: unknown = JSON.parse(text);
  if (!isObject(doc) || doc.version !== 1 || !isObject(doc.files)) throw new Error('expected {"version":1,"files":{...}}');
  const out = new Map<string, PathPositions>();
  for (const [path, v] of Object.entries(doc.files)) {
    if (!isObject(v) || !Array.isArray(v.rotated)) throw new Error(`entry for ${path}: expected {current, rotated[]}`);
    const current = v.current === null ? null : parseFilePosition(v.current, path);
    out.set(path, { current, rotated: v.rotated.map((r) => parseFilePosition(r, path)) });
  }
  return out;
}

function parseFilePosition(v: unknown, path: string): FilePosition {
  const bad = (what: string): never => {
    throw new Error(`entry for ${path}: ${what}`);
  };
  if (!isObject(v)) return bad('position is not an object');
  const { dev, ino, offset, headLen, headHash, pending } = v;
  if (typeof dev !== 'string' || !/^\d+$/.test(dev)) bad('dev must be a decimal string');
  if (typeof ino !== 'string' || !/^\d+$/.test(ino)) bad('ino must be a decimal string');
  if (!isOffset(offset)) bad('offset must be a non-negative integer');
  if (!isOffset(headLen) || headLen > 1024) bad('headLen must be an integer in 0..1024');
  if (typeof headHash !== 'string') bad('headHash must be a string');
  const pos: FilePosition = {
    dev: dev as string,
    ino: ino as string,
    offset: offset as number,
    headLen: headLen as number,
    headHash: headHash as string,
  };
  if (pending !== undefined) {
    if (!isObject(pending) || !isOffset(pending.start) || !isOffset(pending.end) || typeof pending.chunkId !== 'string') {
      bad('pending must be {start, end, chunkId}');
    }
    const p = pending as Record<string, unknown>;
    if ((p.start as number) > (p.end as number)) bad('pending.start is after pending.end');
    pos.pending = { start: p.start as number, end: p.end as number, chunkId: p.chunkId as string };
  }
  return pos;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isOffset(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}
