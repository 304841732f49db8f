import { parseNamedOption, type JailConfig } from '@portcullis/shared';
import { journalmatchArgs } from './journalmatch.js';
import type { JournalStream } from './journald-source.js';

/**
 * What the enabled `backend = systemd` jails read: one stream per jail (the source merges jails
 * with the same journal and journalmatch). fail2ban's backend options select another journal:
 * `systemd[journalpath=/var/log/journal/remote]` (journalctl --directory) or
 * `systemd[journalfiles="/a.journal /b.journal"]` (--file). Every journalmatch is validated here,
 * so a bad one is reported with its jail's file and line.
 */
export function journalStreams(jails: readonly JailConfig[]): JournalStream[] {
  const out: JournalStream[] = [];
  for (const j of jails) {
    if (!j.enabled || !j.backend.trim().startsWith('systemd')) continue;
    const opts = parseNamedOption(j.backend, { what: 'backend', ref: j.ref }).options;
    const dir = opts['journalpath']?.trim();
    const files = (opts['journalfiles'] ?? '').split(/[\s,]+/).filter(Boolean);
    const journal = dir ? { directory: dir } : files.length > 0 ? { files } : undefined;
    journalmatchArgs(j.journalmatch, j.ref);
    out.push({ journalmatch: j.journalmatch, jails: [j.name], fromStart: j.fromStart, ...(journal ? { journal } : {}) });
  }
  return out;
}
