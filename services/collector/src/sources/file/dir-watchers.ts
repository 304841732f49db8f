import { watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';

interface Watched {
  watcher: FSWatcher;
  /** The directory's inode when watched: a directory removed and re-created needs a new watch. */
  ino: bigint;
}

/**
 * One inotify watch per directory (fs.watch uses inotify on Linux), shared by every tailed file and
 * glob in it. Watching directories rather than files keeps working across renames and re-creation,
 * and costs one watch however many files a directory holds. A watch that cannot be set up (missing
 * directory, inotify limit, a filesystem without inotify) is simply absent: polling covers it, and
 * `sync` is called again on every rescan.
 */
export class DirWatchers {
  readonly #watchers = new Map<string, Watched>();
  readonly #onEvent: (dir: string, filename: string | null) => void;
  readonly #onError: (dir: string, e: unknown) => void;

  constructor(onEvent: (dir: string, filename: string | null) => void, onError: (dir: string, e: unknown) => void) {
    this.#onEvent = onEvent;
    this.#onError = onError;
  }

  /** Watches exactly `dirs`: adds missing watches, renews those whose directory was replaced. */
  async sync(dirs: Set<string>): Promise<void> {
    for (const dir of [...this.#watchers.keys()]) if (!dirs.has(dir)) this.#drop(dir);
    for (const dir of dirs) {
      let ino: bigint;
      try {
        const st = await stat(dir, { bigint: true });
        if (!st.isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
        ino = st.ino;
      } catch {
        this.#drop(dir);
        continue;
      }
      const cur = this.#watchers.get(dir);
      if (cur && cur.ino === ino) continue;
      this.#drop(dir);
      try {
        const watcher = watch(dir, { persistent: false }, (_event, filename) => this.#onEvent(dir, filename ?? null));
        watcher.on('error', (e) => {
          this.#drop(dir);
          this.#onError(dir, e);
        });
        this.#watchers.set(dir, { watcher, ino });
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT' && code !== 'ENOTDIR') this.#onError(dir, e);
      }
    }
  }

  closeAll(): void {
    for (const dir of [...this.#watchers.keys()]) this.#drop(dir);
  }

  #drop(dir: string): void {
    this.#watchers.get(dir)?.watcher.close();
    this.#watchers.delete(dir);
  }
}
