import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * The notifier's own main.ts in a child process (through tsx), so a test can kill it with
 * SIGKILL the way a crash or the OOM killer would.
 */
export class ChildNotifier {
  stderr = '';
  readonly exited: Promise<number | null>;

  private constructor(private readonly child: ChildProcess) {
    child.stderr?.on('data', (c: Buffer) => {
      this.stderr += c.toString();
    });
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  static async start(configDir: string, stateDir: string): Promise<ChildNotifier> {
    const child = spawn(
      process.execPath,
      ['--conditions', 'source', '--import', 'tsx', path.join(PACKAGE_DIR, 'src/main.ts'), '--config', configDir, '--state', stateDir],
      { cwd: PACKAGE_DIR, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const c = new ChildNotifier(child);
    const deadline = Date.now() + 30_000;
    while (!c.stderr.includes('"msg":"notifier started"')) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the notifier did not start:\n${c.stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return c;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.child.exitCode === null) this.child.kill(signal);
  }
}
