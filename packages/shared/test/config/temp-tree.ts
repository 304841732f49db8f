import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Temporary config directories for tests; `cleanup()` removes every one made. */
export function tempTrees(): { make(files: Record<string, string>): string; cleanup(): void } {
  const made: string[] = [];
  return {
    make(files) {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'pct-config-'));
      made.push(dir);
      for (const [rel, text] of Object.entries(files)) {
        const file = path.join(dir, rel);
        mkdirSync(path.dirname(file), { recursive: true });
        writeFileSync(file, text);
      }
      return dir;
    },
    cleanup() {
      for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs `fn`, expecting a throw; returns the error for assertions. */
export function thrown(fn: () => unknown): Error & { code?: string; location?: { file?: string; line?: number } } {
  try {
    fn();
  } catch (e) {
    return e as Error & { code?: string; location?: { file?: string; line?: number } };
  }
  throw new Error('expected a throw, but the call returned');
}
