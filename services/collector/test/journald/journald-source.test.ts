import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isPortcullisError } from '@portcullis/shared';
import { createJournaldSource, type JournaldSourceOptions } from '../../src/sources/journald/index.js';
import { sourceLines, type LogSource } from '../../src/sources/source.js';
import { captureLog, RecordingSink, sleep } from '../syslog/recording-sink.js';
import { JournalWriter, journalRemoteBinary } from './journal-writer.js';

const SSHD = '_SYSTEMD_UNIT=sshd.service + _COMM=sshd';
const sshdEntry = (n: number): Record<string, string> => ({
  _SYSTEMD_UNIT: 'sshd.service',
  _COMM: 'sshd',
  SYSLOG_IDENTIFIER: 'sshd',
  _PID: '4242',
  MESSAGE: `Failed password for root from 192.0.2.${n} port 22 ssh2`,
});

let binary: string;
let dir: string;
let writer: JournalWriter;
const running: LogSource[] = [];

beforeAll(async () => {
  binary = await journalRemoteBinary();
});

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pct-journal-'));
  writer = new JournalWriter(binary, join(dir, 'test.journal'));
});

afterEach(async () => {
  for (const s of running.splice(0)) await s.stop();
  await rm(dir, { recursive: true, force: true });
});

function source(extra: Partial<JournaldSourceOptions> & Pick<JournaldSourceOptions, 'streams'>): LogSource {
  const s = createJournaldSource({
    cursorFile: join(dir, 'state', 'journal-cursors.json'),
    log: captureLog().log,
    journal: { files: [writer.file] },
    retryMinMs: 20,
    retryMaxMs: 100,
    restartDelayMs: 50,
    ...extra,
  });
  running.push(s);
  return s;
}

async function stopSource(s: LogSource): Promise<void> {
  running.splice(running.indexOf(s), 1);
  await s.stop();
}

describe('journald source (real journalctl on a journal file written by systemd-journal-remote)', () => {
  it('renders entries as fail2ban does and honours journalmatch (+ = OR between groups)', async () => {
    await writer.append([
      writer.entry(sshdEntry(1)),
      writer.entry({ _SYSTEMD_UNIT: 'cron.service', _COMM: 'cron', SYSLOG_IDENTIFIER: 'CRON', _PID: '7', MESSAGE: 'pam_unix(cron:session): session opened' }),
      // Matched by the second group only (_COMM=sshd), e.g. sshd started outside its unit.
      writer.entry({ _SYSTEMD_UNIT: 'session-1.scope', _COMM: 'sshd', _PID: '99', MESSAGE: 'Invalid user admin from 192.0.2.50 port 4711' }),
      writer.entry({ _SYSTEMD_UNIT: 'nginx.service', _COMM: 'nginx', MESSAGE: 'not for sshd' }),
    ]);
    const rec = new RecordingSink();
    await source({ streams: [{ journalmatch: SSHD, jails: ['sshd'], fromStart: true }] }).start(rec.sink);
    await rec.waitForLines(2);
    await sleep(300);
    expect(rec.texts()).toEqual([
      '2023-11-14T22:13:21.000000+00:00 web1 sshd[4242]: Failed password for root from 192.0.2.1 port 22 ssh2',
      '2023-11-14T22:13:23.000000+00:00 web1 sshd[99]: Invalid user admin from 192.0.2.50 port 4711',
    ]);
    expect(rec.chunks.every((c) => c.origin === `journal:${SSHD}` && c.jails.join() === 'sshd')).toBe(true);
  });

  it('jails with the same journalmatch share one stream; each chunk names all of them', async () => {
    await writer.append([writer.entry(sshdEntry(1))]);
    const rec = new RecordingSink();
    await source({
      streams: [
        { journalmatch: SSHD, jails: ['sshd'], fromStart: true },
        { journalmatch: `  ${SSHD} `, jails: ['sshd-aggressive'], fromStart: true },
      ],
    }).start(rec.sink);
    await rec.waitForLines(1);
    await sleep(200);
    expect(rec.texts()).toHaveLength(1);
    expect(rec.chunks[0]?.jails).toEqual(['sshd', 'sshd-aggressive']);
  });

  it('keeps non-UTF-8 and multi-line messages: invalid bytes become U+FFFD, new lines become \\n', async () => {
    await writer.append([
      writer.entry({ ...sshdEntry(1), MESSAGE: Buffer.from([0x62, 0x61, 0x64, 0xff, 0x20, 0x75, 0x73, 0x65, 0x72]) }),
      writer.entry({ ...sshdEntry(2), MESSAGE: 'first line\nsecond line from 192.0.2.2' }),
    ]);
    const rec = new RecordingSink();
    await source({ streams: [{ journalmatch: SSHD, jails: ['sshd'], fromStart: true }] }).start(rec.sink);
    await rec.waitForLines(2);
    expect(rec.texts()[0]).toMatch(/ web1 sshd\[4242\]: bad\ufffd user$/);
    expect(rec.texts()[1]).toMatch(/ web1 sshd\[4242\]: first line\\nsecond line from 192\.0\.2\.2$/);
  });

  it('resumes from its cursor after a restart: entries written while stopped arrive, none twice', async () => {
    const cursorFile = join(dir, 'state', 'journal-cursors.json');
    const streams = [{ journalmatch: SSHD, jails: ['sshd'], fromStart: true }];
    await writer.append([1, 2, 3].map((n) => writer.entry(sshdEntry(n))));
    const first = new RecordingSink();
    const s1 = source({ streams, cursorFile });
    await s1.start(first.sink);
    await first.waitForLines(3);
    // Followed live, not only read at start.
    await writer.append([4, 5].map((n) => writer.entry(sshdEntry(n))));
    await first.waitForLines(5);
    await stopSource(s1);
    const saved = JSON.parse(await readFile(cursorFile, 'utf8')) as { streams: Record<string, { cursor: string; pending?: unknown }> };
    const pos = Object.values(saved.streams)[0];
    expect(pos?.cursor).toMatch(/^s=[0-9a-f]+;i=5;/);
    expect(pos?.pending).toBeUndefined();

    await writer.append([6, 7, 8].map((n) => writer.entry(sshdEntry(n))));
    const second = new RecordingSink();
    await source({ streams, cursorFile }).start(second.sink);
    await second.waitForLines(3);
    await sleep(300);
    const ips = (r: RecordingSink): string[] => r.texts().map((t) => /from (\S+)/.exec(t)?.[1] ?? '?');
    expect(ips(first)).toEqual(['192.0.2.1', '192.0.2.2', '192.0.2.3', '192.0.2.4', '192.0.2.5']);
    expect(ips(second)).toEqual(['192.0.2.6', '192.0.2.7', '192.0.2.8']);
  });

  it('does not advance while the sink fails; after a restart the same chunk is re-sent under the same id', async () => {
    const streams = [{ journalmatch: SSHD, jails: ['sshd'], fromStart: true }];
    await writer.append([1, 2].map((n) => writer.entry(sshdEntry(n))));
    const down = new RecordingSink();
    down.failing = true;
    const s1 = source({ streams });
    await s1.start(down.sink);
    await waitUntil(() => down.rejected.length >= 2);
    const offered = down.rejected[0];
    expect(down.rejected.every((c) => c.chunkId === offered?.chunkId)).toBe(true);
    await stopSource(s1);

    const up = new RecordingSink();
    await source({ streams }).start(up.sink);
    await up.waitForLines(2);
    await sleep(200);
    expect(up.chunks[0]?.chunkId).toBe(offered?.chunkId);
    expect(up.texts()).toEqual((offered ? sourceLines(offered.lines) : []).map((l) => l.text));
    expect(up.texts()).toHaveLength(2);
  });

  it('recovers in place when the sink comes back: nothing lost, nothing twice', async () => {
    const rec = new RecordingSink();
    rec.failing = true;
    await source({ streams: [{ journalmatch: SSHD, jails: ['sshd'], fromStart: true }] }).start(rec.sink);
    await writer.append([1, 2, 3].map((n) => writer.entry(sshdEntry(n))));
    await waitUntil(() => rec.rejected.length >= 3);
    await writer.append([4].map((n) => writer.entry(sshdEntry(n))));
    rec.failing = false;
    await rec.waitForLines(4);
    await sleep(300);
    expect(new Set(rec.texts()).size).toBe(4);
    expect(rec.texts()).toHaveLength(4);
  });

  it('starts at the end of the journal by default, and keeps that place across a restart before any delivery', async () => {
    const streams = [{ journalmatch: SSHD, jails: ['sshd'] }];
    await writer.append([1, 2].map((n) => writer.entry(sshdEntry(n))));
    const s1 = source({ streams });
    const first = new RecordingSink();
    await s1.start(first.sink);
    await sleep(500);
    expect(first.texts()).toEqual([]);
    await stopSource(s1);
    // Written while the collector is down, after its first start: must be read.
    await writer.append([3].map((n) => writer.entry(sshdEntry(n))));
    const second = new RecordingSink();
    await source({ streams }).start(second.sink);
    await second.waitForLines(1);
    await sleep(200);
    expect(second.texts()).toHaveLength(1);
    expect(second.texts()[0]).toContain('192.0.2.3');
  });

  it('rejects a bad journalmatch with a clear error', () => {
    let err: unknown;
    try {
      createJournaldSource({ streams: [{ journalmatch: '_SYSTEMD_UNIT=sshd.service + + _COMM=sshd', jails: ['sshd'] }], cursorFile: join(dir, 'c.json'), log: captureLog().log });
    } catch (e) {
      err = e;
    }
    expect(isPortcullisError(err, 'PC_CONFIG_INVALID')).toBe(true);
    expect((err as Error).message).toContain('"+" must stand between two groups');
  });

  it('fails to start with a clear error when journalctl is missing', async () => {
    const s = source({ streams: [{ journalmatch: SSHD, jails: ['sshd'] }], journalctl: join(dir, 'no-such-journalctl') });
    await expect(s.start(new RecordingSink().sink)).rejects.toThrow(/no-such-journalctl was not found/);
  });
});

async function waitUntil(cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(10);
  }
}
