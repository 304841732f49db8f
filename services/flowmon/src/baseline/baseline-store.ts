import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Logger } from '@portcullis/shared';
import type { BaselineSnapshot } from './baseline.js';

export const BASELINE_FILE = 'flowmon-baselines.json';

export function baselinePath(stateDir: string): string {
  return join(stateDir, BASELINE_FILE);
}

/**
 * The baselines of `host` saved in `file`, or undefined when there is none. A file that cannot be
 * read or is for another host is logged and ignored: learning starts over, which is safe.
 */
export async function loadBaselines(file: string, host: string, log: Logger): Promise<BaselineSnapshot | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') log.warn({ file, err: (e as Error).message }, 'cannot read saved baselines; learning from scratch');
    return undefined;
  }
  try {
    const snap = JSON.parse(text) as BaselineSnapshot;
    if (snap?.v !== 1 || typeof snap.metrics !== 'object' || snap.metrics === null) throw new Error('not a flowmon baseline file (v 1)');
    if (snap.host !== host) {
      log.warn({ file, savedFor: snap.host, host }, 'saved baselines belong to another host; learning from scratch');
      return undefined;
    }
    return snap;
  } catch (e) {
    log.warn({ file, err: (e as Error).message }, 'saved baselines are unreadable; learning from scratch');
    return undefined;
  }
}

/** Writes to a temporary file in the same directory and renames it: a crash never leaves half a file. */
export async function saveBaselines(file: string, snap: BaselineSnapshot): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, JSON.stringify(snap), { mode: 0o600 });
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}
