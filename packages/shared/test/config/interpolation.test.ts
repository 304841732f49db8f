import { describe, expect, it } from 'vitest';
import { mergeIni, parseIni } from '../../src/config/ini.js';
import { interpolate, resolveOption, resolveSection, sectionLookup } from '../../src/config/interpolation.js';
import type { IniSections } from '../../src/config/types.js';
import { thrown } from './temp-tree.js';

const stack = (...files: Array<[string, string]>): IniSections => {
  const sections: IniSections = new Map();
  for (const [name, text] of files) mergeIni(sections, parseIni(text, name));
  return sections;
};

describe('interpolation', () => {
  it('resolves references from the section, then [DEFAULT], recursively', () => {
    const s = stack(['jail.conf', '[DEFAULT]\nbase = /var/log\nlog = %(base)s/%(file)s\nfile = default.log\n[sshd]\nfile = auth.log\nlogpath = %(log)s\n']);
    expect(resolveOption(s, 'sshd', 'logpath')).toBe('/var/log/auth.log');
    expect(resolveOption(s, 'sshd', 'log')).toBe('/var/log/auth.log');
  });

  it('gives %(__name__)s the name of the section being read, even inside a [DEFAULT] value', () => {
    const s = stack(['jail.conf', '[DEFAULT]\nfilter = %(__name__)s[mode=%(mode)s]\nmode = normal\n[sshd]\n[postfix]\nmode = more\n']);
    expect(resolveOption(s, 'sshd', 'filter')).toBe('sshd[mode=normal]');
    expect(resolveOption(s, 'postfix', 'filter')).toBe('postfix[mode=more]');
  });

  it('turns %% into % and leaves <tags> untouched', () => {
    const s = stack(['a.conf', '[x]\nrate = 50%%\ncmd = echo <ip> %(rate)s <known/chain>\n']);
    expect(resolveOption(s, 'x', 'cmd')).toBe('echo <ip> 50% <known/chain>');
  });

  it('matches reference names case-insensitively, like the keys', () => {
    const s = stack(['a.conf', '[x]\nLogPath = /l\nv = %(LOGPATH)s\n']);
    expect(resolveOption(s, 'x', 'V')).toBe('/l');
  });

  it('lets caller values win over the section, as fail2ban passes a jail\'s options to its filter', () => {
    const s = stack(['filter.d/sshd.conf', '[DEFAULT]\nmode = normal\n[Definition]\nmode = ddos\nfailregex = %(mode)s-%(extra)s 100%%\nplain = %(mode)s\n']);
    // A caller value is final: its "%" is not read as a reference.
    expect(resolveOption(s, 'Definition', 'failregex', { mode: 'aggressive', extra: '50%' })).toBe('aggressive-50% 100%');
    expect(resolveOption(s, 'Definition', 'plain')).toBe('ddos');
    expect(resolveOption(s, 'Definition', 'mode', { MODE: 'x' })).toBe('x');
  });

  it('reads %(default/x)s, %(other/x)s and %(known/x)s', () => {
    const s = stack(
      ['jail.conf', '[DEFAULT]\nport = 0:65535\nbackend = auto\n[sshd]\nport = ssh\nbackend = polling\n[web]\nport = http\n'],
      ['jail.local', '[sshd]\nport = %(known/port)s,2222\nb = %(default/backend)s %(web/port)s %(web/backend)s %(known/backend)s\n'],
    );
    expect(resolveOption(s, 'sshd', 'port')).toBe('ssh,2222');
    // web has no backend of its own and sshd never overrode backend: both fall back to [DEFAULT].
    expect(resolveOption(s, 'sshd', 'b')).toBe('auto http auto auto');
  });

  it('resolves a known/ value in the scope of the section reading it', () => {
    const s = stack(
      ['jail.conf', '[DEFAULT]\nre = ^base <HOST>$\n[a]\nfailregex = %(re)s\n             ^a-only\n'],
      ['jail.local', '[a]\nre = ^local <HOST>$\nfailregex = %(known/failregex)s\n            ^extra\n'],
    );
    expect(resolveOption(s, 'a', 'failregex')).toBe('^local <HOST>$\n^a-only\n^extra');
  });

  it('resolveSection returns every option of the section and of [DEFAULT]', () => {
    const s = stack(['j.conf', '[DEFAULT]\na = 1\nb = %(a)s2\n[x]\nc = %(b)s3\n[y]\n']);
    expect(resolveSection(s, 'x')).toEqual({ a: '1', b: '12', c: '123' });
    expect(resolveSection(s, 'y', { a: '9' })).toEqual({ a: '9', b: '92' });
  });

  it('resolveSection can leave out options that reference undefined names', () => {
    const s = stack(['j.conf', '[DEFAULT]\nunused = cloudflare[user=%(cfemail)s]\nok = 1\n[x]\n']);
    expect(resolveSection(s, 'x', {}, { skipUnresolvable: true })).toEqual({ ok: '1' });
    expect(thrown(() => resolveSection(s, 'x')).code).toBe('PC_CONFIG_INTERPOLATION');
  });

  it('interpolate works with any lookup function', () => {
    const lookup = (n: string) => (n === 'who' ? { value: 'world' } : undefined);
    expect(interpolate('hello %(who)s', lookup, { file: 'f', line: 1 })).toBe('hello world');
  });

  describe('errors', () => {
    it('names the file and line where an undefined reference is written, and the option being read', () => {
      const s = stack(
        ['jail.conf', '[DEFAULT]\n\naction_cf = cloudflare[user="%(cfemail)s"]\n[sshd]\n'],
        ['jail.local', '[sshd]\naction = %(action_cf)s\n'],
      );
      const e = thrown(() => resolveOption(s, 'sshd', 'action'));
      expect(e.code).toBe('PC_CONFIG_INTERPOLATION');
      expect(e.location).toEqual({ file: 'jail.conf', line: 3 });
      expect(e.message).toBe(
        'jail.conf:3: %(cfemail)s is not defined (while reading option "action" of [sshd] set at jail.local:2)',
      );
    });

    it('detects a reference to itself and a cycle, naming the chain', () => {
      const self = stack(['j.conf', '[x]\na = %(a)s\n']);
      expect(thrown(() => resolveOption(self, 'x', 'a')).message).toMatch(/^j\.conf:2: %\(a\)s refers back to itself \(a -> a\)/);
      const loop = stack(['j.conf', '[x]\na = 1 %(b)s\nb = %(c)s\nc = %(a)s\n']);
      const e = thrown(() => resolveOption(loop, 'x', 'a'));
      expect(e.code).toBe('PC_CONFIG_INTERPOLATION');
      expect(e.location).toEqual({ file: 'j.conf', line: 4 });
      expect(e.message).toMatch(/a -> b -> c -> a/);
    });

    it('explains a known/ loop across two overrides', () => {
      const s = stack(
        ['jail.conf', '[x]\nport = ssh\n'],
        ['jail.d/a.conf', '[x]\nport = %(known/port)s,1\n'],
        ['jail.local', '[x]\nport = %(known/port)s,2\n'],
      );
      const e = thrown(() => resolveOption(s, 'x', 'port'));
      expect(e.location).toEqual({ file: 'jail.d/a.conf', line: 2 });
      expect(e.message).toMatch(/only one earlier value is kept per key/);
    });

    it('stops at 10 levels of nesting', () => {
      const lines = Array.from({ length: 12 }, (_, i) => `v${i} = %(v${i + 1})s`);
      const s = stack(['deep.conf', `[x]\n${lines.join('\n')}\nv12 = end\n`]);
      const e = thrown(() => resolveOption(s, 'x', 'v0'));
      expect(e.code).toBe('PC_CONFIG_INTERPOLATION');
      expect(e.message).toMatch(/deeper than 10 levels/);
      expect(e.location?.file).toBe('deep.conf');
      // 9 levels are fine
      expect(resolveOption(s, 'x', 'v4')).toBe('end');
    });

    it.each([
      ['a lone percent sign', '[x]\n\nv = 50%\n', /lone "%"/],
      ['a reference without the trailing s', '[x]\n\nv = %(name)\n', /bad reference/],
    ])('rejects %s', (_what, text, message) => {
      const e = thrown(() => resolveOption(stack(['p.conf', text]), 'x', 'v'));
      expect(e.code).toBe('PC_CONFIG_INTERPOLATION');
      expect(e.location).toEqual({ file: 'p.conf', line: 3 });
      expect(e.message).toMatch(message);
    });
  });

  it('sectionLookup exposes the raw value and where it was set', () => {
    const s = stack(['j.conf', '[DEFAULT]\nx = %(y)s\n[a]\n']);
    expect(sectionLookup(s, 'a')('x')).toEqual({ value: '%(y)s', ref: { file: 'j.conf', line: 2 } });
    expect(sectionLookup(s, 'a')('__name__')).toEqual({ value: 'a', literal: true });
    expect(sectionLookup(s, 'a')('missing')).toBeUndefined();
  });
});
