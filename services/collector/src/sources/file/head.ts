import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';

/** How many leading bytes identify a file's content (with dev and inode). */
export const HEAD_BYTES = 1024;

export interface Head {
  len: number;
  hash: string;
}

export const EMPTY_HEAD: Head = { len: 0, hash: hashBytes(Buffer.alloc(0)) };

export function hashBytes(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex').slice(0, 16);
}

export async function readHeadBytes(fh: FileHandle): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(HEAD_BYTES);
  const { bytesRead } = await fh.read(buf, 0, HEAD_BYTES, 0);
  return buf.subarray(0, bytesRead);
}

export async function readHead(fh: FileHandle): Promise<Head> {
  const b = await readHeadBytes(fh);
  return { len: b.length, hash: hashBytes(b) };
}

/** True when the file still starts with the bytes `head` was computed from. */
export function headMatches(bytes: Buffer, head: Head): boolean {
  if (head.len === 0) return true;
  if (bytes.length < head.len) return false;
  return hashBytes(bytes.subarray(0, head.len)) === head.hash;
}
