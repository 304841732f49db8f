import { closeSync, copyFileSync, existsSync, ftruncateSync, openSync, renameSync, writeSync } from 'node:fs';
import { setImmediate as yieldToLoop } from 'node:timers/promises';

export type RotationMode = 'rename' | 'copytruncate';

export interface WriterOptions {
  path: string;
  total: number;
  linesPerWrite: number;
  /** Line numbers before which the file is rotated. */
  rotateBefore: number[];
  mode: RotationMode;
  /** How many rotated generations are kept (path.1 .. path.N), like logrotate's `rotate N`. */
  keep: number;
  /**
   * Awaited before each rotation. Tests use it to rotate only once the source has seen the previous
   * rotation, as with real logrotate (rotations are hours apart, never two within one poll).
   */
  beforeRotate?: (lineNo: number) => Promise<void>;
  /** Lines written to the old file after a rename, as a daemon does until it reopens on SIGHUP. */
  lateLinesAfterRename?: number;
}

export function lineText(n: number): string {
  return `L${String(n).padStart(7, '0')} host sshd[4242]: Failed password for invalid user admin from 203.0.113.${n % 250} port 22 ssh2`;
}

/** Appends numbered lines at full speed, rotating as a log daemon plus logrotate would. */
export async function runWriter(o: WriterOptions): Promise<{ late: number[] }> {
  let fd = openSync(o.path, 'a');
  const late: number[] = [];
  const rotations = new Set(o.rotateBefore);
  let n = 0;
  while (n < o.total) {
    if (rotations.has(n)) {
      await o.beforeRotate?.(n);
      shiftGenerations(o.path, o.keep);
      if (o.mode === 'rename') {
        renameSync(o.path, `${o.path}.1`);
        for (let i = 0; i < (o.lateLinesAfterRename ?? 0) && n < o.total; i++, n++) {
          writeSync(fd, `${lineText(n)}\n`);
          late.push(n);
        }
        closeSync(fd);
        fd = openSync(o.path, 'a');
      } else {
        copyFileSync(o.path, `${o.path}.1`);
        ftruncateSync(fd, 0);
      }
    }
    let chunk = '';
    const end = Math.min(o.total, n + o.linesPerWrite, ...[...rotations].filter((r) => r > n));
    for (; n < end; n++) chunk += `${lineText(n)}\n`;
    writeSync(fd, chunk);
    await yieldToLoop();
  }
  closeSync(fd);
  return { late };
}

export function shiftGenerations(path: string, keep: number): void {
  for (let i = keep - 1; i >= 1; i--) if (existsSync(`${path}.${i}`)) renameSync(`${path}.${i}`, `${path}.${i + 1}`);
}
