import { describe, expect, it } from 'vitest';
import { parseSyslog } from '../../src/sources/syslog/parse.js';
import { formatClassicLine, formatRfc3339Micros } from '../../src/sources/syslog/classic-line.js';
import { SyslogRouter } from '../../src/sources/syslog/routes.js';
import { parseListen } from '../../src/sources/syslog/config.js';

const ok = (text: string) => {
  const r = parseSyslog(text);
  if (!r.ok) throw new Error(`expected ${JSON.stringify(text)} to parse: ${r.reason}`);
  return r.message;
};
const bad = (text: string): string => {
  const r = parseSyslog(text);
  if (r.ok) throw new Error(`expected ${JSON.stringify(text)} to be refused`);
  return r.reason;
};

describe('RFC 5424', () => {
  it('parses the RFC examples (BOM, NILVALUE, structured data)', () => {
    expect(ok("<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \ufeff'su root' failed for lonvick on /dev/pts/8")).toEqual({
      format: 'rfc5424',
      facility: 4,
      severity: 2,
      timestamp: '2003-10-11T22:14:15.003Z',
      hostname: 'mymachine.example.com',
      appName: 'su',
      procId: undefined,
      msgId: 'ID47',
      message: "'su root' failed for lonvick on /dev/pts/8",
    });
    const m = ok('<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It\'s time to make the do-nuts.');
    expect(m).toMatchObject({ facility: 20, severity: 5, hostname: '192.0.2.1', appName: 'myproc', procId: '8710', message: "%% It's time to make the do-nuts." });
    const sd = ok('<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"] An application event');
    expect(sd.message).toBe('An application event');
    expect(ok('<13>1 - - - - - [a@1 x="q\\"u\\]o\\\\te"] after escapes').message).toBe('after escapes');
    expect(ok('<13>1 - host app - - -')).toMatchObject({ timestamp: undefined, message: '' });
  });

  it('refuses a broken header with the reason', () => {
    expect(bad('<13>1 2003-13-11T22:14:15Z host app - - - msg')).toMatch(/TIMESTAMP .* is not RFC 3339/);
    expect(bad('<13>1 2003-10-11 22:14:15Z host app - - - msg')).toMatch(/TIMESTAMP/);
    expect(bad('<13>1 - host app -')).toMatch(/MSGID is missing/);
    expect(bad('<13>1 - host app - - [unterminated x="1"')).toMatch(/SD-ELEMENT is not closed|not terminated/);
    expect(bad('<13>1 - host app - - [id x=1] msg')).toMatch(/not quoted/);
    expect(bad('<13>1 - host app - - nope msg')).toMatch(/STRUCTURED-DATA/);
    expect(bad('<13>2 - host app - - - msg')).toMatch(/VERSION is not 1/);
    expect(bad(`<13>1 - host ${'a'.repeat(49)} - - - msg`)).toMatch(/APPNAME must be 1 to 48/);
  });
});

describe('RFC 3164', () => {
  it('parses timestamp, hostname, tag and pid', () => {
    expect(ok("<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8")).toMatchObject({
      format: 'rfc3164',
      facility: 4,
      severity: 2,
      timestamp: 'Oct 11 22:14:15',
      hostname: 'mymachine',
      appName: 'su',
      procId: undefined,
      message: "'su root' failed for lonvick on /dev/pts/8",
    });
    expect(ok('<38>Nov  2 03:04:05 web1 sshd[4242]: Failed password for root from 192.0.2.1 port 22 ssh2')).toMatchObject({
      timestamp: 'Nov  2 03:04:05',
      hostname: 'web1',
      appName: 'sshd',
      procId: '4242',
      message: 'Failed password for root from 192.0.2.1 port 22 ssh2',
    });
    expect(ok('<22>Nov 22 03:04:05 web1 postfix/smtpd[77]: warning: unknown[203.0.113.5]: SASL LOGIN authentication failed')).toMatchObject({
      appName: 'postfix/smtpd',
      procId: '77',
      message: 'warning: unknown[203.0.113.5]: SASL LOGIN authentication failed',
    });
  });

  it('handles senders that leave out the hostname, the timestamp, or use an RFC 3339 date', () => {
    expect(ok('<13>Nov 22 03:04:05 sshd[12]: no host here')).toMatchObject({ hostname: undefined, appName: 'sshd', procId: '12', message: 'no host here' });
    expect(ok('<13>sshd: no timestamp')).toMatchObject({ timestamp: undefined, hostname: undefined, appName: 'sshd', message: 'no timestamp' });
    expect(ok('<13>2026-01-02T03:04:05.123+01:00 web1 app: iso')).toMatchObject({ timestamp: '2026-01-02T03:04:05.123+01:00', hostname: 'web1', appName: 'app', message: 'iso' });
    expect(ok('<13>Nov 22 03:04:05 web1 just text without a tag')).toMatchObject({ hostname: 'web1', appName: '', message: 'just text without a tag' });
  });

  it('refuses input that is not syslog', () => {
    expect(bad('hello world')).toBe('does not start with <PRI>');
    expect(bad('<192>Nov 22 03:04:05 web1 app: x')).toBe('PRI 192 is above 191');
    expect(bad('<1a>x')).toBe('PRI is not <0> to <191>');
    expect(bad('')).toBe('empty message');
    expect(bad('<13>   ')).toMatch(/no content/);
  });
});

describe('classic line, routes, listen addresses', () => {
  it('formats like fail2ban and keeps one line per message', () => {
    expect(formatClassicLine({ time: 'Nov 22 03:04:05', host: 'web1', ident: 'sshd', pid: '1', message: 'a\nb' })).toBe('Nov 22 03:04:05 web1 sshd[1]: a\\nb');
    expect(formatClassicLine({ time: 'T', host: 'h', ident: '', message: 'm' })).toBe('T h m');
    expect(formatRfc3339Micros(1_700_000_000_123_456n)).toBe('2023-11-14T22:13:20.123456+00:00');
  });

  it('routes by program name and glob, to every matching jail', () => {
    const r = new SyslogRouter([
      { program: 'sshd', jails: ['sshd'] },
      { program: 'postfix/*', jails: ['postfix'] },
      { program: '*', jails: ['all'] },
      { program: 'sshd', jails: ['sshd-ddos'] },
    ]);
    expect(r.jailsFor('sshd')).toEqual(['all', 'sshd', 'sshd-ddos']);
    expect(r.jailsFor('postfix/smtpd')).toEqual(['all', 'postfix']);
    expect(r.jailsFor('postfix')).toEqual(['all']);
    expect(new SyslogRouter([{ program: 'a.b', jails: ['x'] }]).jailsFor('aXb')).toEqual([]);
  });

  it('reads listen addresses and refuses bad ones', () => {
    expect(parseListen('udp://0.0.0.0:514')).toEqual({ protocol: 'udp', host: '0.0.0.0', port: 514 });
    expect(parseListen('tcp://[::1]:6514')).toEqual({ protocol: 'tcp', host: '::1', port: 6514 });
    expect(() => parseListen('tls://0.0.0.0:6514')).toThrow(/expected udp:\/\/ADDRESS:PORT/);
    expect(() => parseListen('udp://localhost:514')).toThrow(/does not name an IP address/);
    expect(() => parseListen('udp://127.0.0.1:70000')).toThrow(/above 65535/);
  });
});
