import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Replaces `file` with `data` so that a crash (or power loss) at any moment leaves either the old or
 * the new content, never a torn mix: write a temp file beside it, fsync it, rename over the target,
 * then fsync the directory so the rename itself is durable.
 */
export async function atomicWriteFile(file: string, data: string | Uint8Array): Promise<void> {
  const dir = dirname(file);
  // The state directory may be new (first start) or cleaned by an admin: create it, never fail on it.
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${basename(file)}.${process.pid}.tmp`);
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } catch (e) {
    await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  await fh.close();
  await rename(tmp, file);
  await fsyncDir(dir);
}

async function fsyncDir(dir: string): Promise<void> {
  const dh = await open(dir, 'r');
  try {
    await dh.sync();
  } catch {
    // Some filesystems refuse fsync on a directory (EINVAL); the rename already happened.
  } finally {
    await dh.close();
  }
}
