import { spawn, spawnSync } from 'node:child_process';
import { ensureExecutable } from '@portcullis/shared';

/**
 * Writes entries into a real journal file with systemd-journal-remote (journal export format on its
 * stdin), so tests read it with the real journalctl, cursors and matches included. The package is
 * installed at the version of the installed systemd (it must match libsystemd-shared exactly, and an
 * upgrade of systemd is not something a test may do).
 */
export async function journalRemoteBinary(): Promise<string> {
  const version = spawnSync('dpkg-query', ['-W', '-f=${Version}', 'systemd'], { encoding: 'utf8' }).stdout.trim();
  return ensureExecutable('systemd-journal-remote', version ? `systemd-journal-remote=${version}` : 'systemd-journal-remote', {
    install: true,
    searchDirs: ['/lib/systemd', '/usr/lib/systemd'],
  });
}

export type ExportEntry = Record<string, string | Buffer>;

export const BOOT_ID = '0123456789abcdef0123456789abcdef';

/** Journal export format: text fields as NAME=value, others as NAME\n<le64 size><bytes>\n; a blank line ends an entry. */
export function exportFormat(entries: ExportEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    for (const [name, value] of Object.entries(e)) {
      const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
      const text = typeof value === 'string' && !value.includes('\n');
      if (text) parts.push(Buffer.from(`${name}=${value}\n`, 'utf8'));
      else {
        const size = Buffer.alloc(8);
        size.writeBigUInt64LE(BigInt(bytes.length));
        parts.push(Buffer.from(`${name}\n`), size, bytes, Buffer.from('\n'));
      }
    }
    parts.push(Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}

export class JournalWriter {
  #seq = 0;
  constructor(
    readonly binary: string,
    /** Absolute path ending in .journal. */
    readonly file: string,
    readonly baseMicros = 1_700_000_000_000_000n,
  ) {}

  /** An entry with the trusted fields journald would add; `fields` may override any of them. */
  entry(fields: ExportEntry): ExportEntry {
    const n = ++this.#seq;
    return {
      __REALTIME_TIMESTAMP: String(this.baseMicros + BigInt(n) * 1_000_000n),
      __MONOTONIC_TIMESTAMP: String(n * 1_000_000),
      _BOOT_ID: BOOT_ID,
      _HOSTNAME: 'web1',
      ...fields,
    };
  }

  async append(entries: ExportEntry[]): Promise<void> {
    const child = spawn(this.binary, [`--output=${this.file}`, '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
    const done = new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', resolve);
    });
    child.stdin.end(exportFormat(entries));
    const code = await done;
    if (code !== 0) throw new Error(`systemd-journal-remote exited with ${code}: ${err}`);
  }
}
