import { describe, expect, it } from 'vitest';
import { isPortcullisError, type JailConfig } from '@portcullis/shared';
import { formatJournalEntry, journalmatchArgs, journalStreams } from '../../src/sources/journald/index.js';
import { shellSplit } from '../../src/sources/journald/journalmatch.js';

const NOW = 1_800_000_000_000_000n;

describe('journal entries as fail2ban renders them', () => {
  it('uses SYSLOG_IDENTIFIER, else _COMM; SYSLOG_PID, else _PID; the source timestamp first', () => {
    expect(formatJournalEntry({ _HOSTNAME: 'h', SYSLOG_IDENTIFIER: 'sshd', SYSLOG_PID: '5', _PID: '6', _COMM: 'x', MESSAGE: 'm', __REALTIME_TIMESTAMP: '1700000000000001', _SOURCE_REALTIME_TIMESTAMP: '1700000000000000' }, NOW)).toBe(
      '2023-11-14T22:13:20.000000+00:00 h sshd[5]: m',
    );
    expect(formatJournalEntry({ _HOSTNAME: 'h', _COMM: 'dovecot', _PID: '0x1f', MESSAGE: 'm', __REALTIME_TIMESTAMP: '1700000000123456' }, NOW)).toBe('2023-11-14T22:13:20.123456+00:00 h dovecot[31]: m');
    expect(formatJournalEntry({ MESSAGE: 'only a message' }, NOW)).toBe('2027-01-15T08:00:00.000000+00:00 only a message');
  });

  it('writes the kernel monotonic stamp like fail2ban ("[%12.6f]")', () => {
    expect(formatJournalEntry({ _HOSTNAME: 'h', SYSLOG_IDENTIFIER: 'kernel', MESSAGE: 'IN=eth0 SRC=192.0.2.1', __MONOTONIC_TIMESTAMP: '12345678', __REALTIME_TIMESTAMP: '1700000000000000' }, NOW)).toBe(
      '2023-11-14T22:13:20.000000+00:00 h kernel: [   12.345678] IN=eth0 SRC=192.0.2.1',
    );
  });

  it('decodes byte arrays and joins repeated MESSAGE fields with a space', () => {
    expect(formatJournalEntry({ MESSAGE: [104, 105, 0xff], __REALTIME_TIMESTAMP: '0' }, NOW)).toBe('1970-01-01T00:00:00.000000+00:00 hi\ufffd');
    expect(formatJournalEntry({ MESSAGE: ['a', [98]], __REALTIME_TIMESTAMP: '0' }, NOW)).toBe('1970-01-01T00:00:00.000000+00:00 a b');
  });
});

describe('journalmatch', () => {
  it('keeps fail2ban terms as journalctl arguments, split like a shell', () => {
    expect(journalmatchArgs('_SYSTEMD_UNIT=sshd.service + _COMM=sshd')).toEqual(['_SYSTEMD_UNIT=sshd.service', '+', '_COMM=sshd']);
    expect(journalmatchArgs(`MESSAGE="a b" SYSLOG_IDENTIFIER='x y'`)).toEqual(['MESSAGE=a b', 'SYSLOG_IDENTIFIER=x y']);
    expect(journalmatchArgs('  ')).toEqual([]);
    expect(shellSplit(`a\\ b "c\\"d" ''`)).toEqual(['a b', 'c"d', '']);
  });

  it('refuses what sd_journal_add_match would refuse, naming the file and line', () => {
    const ref = { file: '/etc/portcullis/jail.local', line: 12 };
    const cases: [string, RegExp][] = [
      ['+ _COMM=sshd', /"\+" must stand between/],
      ['_COMM=sshd +', /"\+" must stand between/],
      ['_comm=sshd', /is not FIELD=value/],
      ['/usr/sbin/sshd', /is not FIELD=value/],
      ['_COMM="sshd', /unterminated " quote/],
    ];
    for (const [text, re] of cases) {
      let err: unknown;
      try {
        journalmatchArgs(text, ref);
      } catch (e) {
        err = e;
      }
      expect(isPortcullisError(err, 'PC_CONFIG_INVALID'), text).toBe(true);
      expect((err as Error).message).toMatch(re);
      expect((err as Error).message.startsWith('/etc/portcullis/jail.local:12: ')).toBe(true);
    }
  });

  it('builds streams from systemd jails only, with fail2ban backend options for other journals', () => {
    const jail = (name: string, backend: string, journalmatch: string, enabled = true): JailConfig =>
      ({ name, enabled, backend, journalmatch, fromStart: false, ref: { file: 'jail.local', line: 1 } }) as JailConfig;
    expect(
      journalStreams([
        jail('sshd', 'systemd', '_SYSTEMD_UNIT=sshd.service + _COMM=sshd'),
        jail('files', 'auto', ''),
        jail('off', 'systemd', '_COMM=x', false),
        jail('remote', 'systemd[journalpath=/var/log/journal/remote]', ''),
        jail('two', 'systemd[journalfiles="/a.journal /b.journal"]', '_COMM=nginx'),
      ]),
    ).toEqual([
      { journalmatch: '_SYSTEMD_UNIT=sshd.service + _COMM=sshd', jails: ['sshd'], fromStart: false },
      { journalmatch: '', jails: ['remote'], fromStart: false, journal: { directory: '/var/log/journal/remote' } },
      { journalmatch: '_COMM=nginx', jails: ['two'], fromStart: false, journal: { files: ['/a.journal', '/b.journal'] } },
    ]);
  });
});
