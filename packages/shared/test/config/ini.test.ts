import { describe, expect, it } from 'vitest';
import { mergeIni, parseIni } from '../../src/config/ini.js';
import type { IniSections } from '../../src/config/types.js';
import { thrown } from './temp-tree.js';

const values = (sections: IniSections, name: string): Record<string, string> =>
  Object.fromEntries([...(sections.get(name) ?? [])].map(([k, e]) => [k, e.value]));

describe('parseIni', () => {
  it('reads sections and both "=" and ":" delimiters, the first delimiter splitting key from value', () => {
    const s = parseIni('[a]\nx = 1\ny: 2\nz:w = 3\nempty =\n', 'f.conf');
    expect(values(s, 'a')).toEqual({ x: '1', y: '2', z: 'w = 3', empty: '' });
  });

  it('lower-cases keys but keeps section names as written', () => {
    const s = parseIni('[SSHD]\nMaxRetry = 3\n[sshd]\nPORT = ssh\n', 'f.conf');
    expect([...s.keys()]).toEqual(['SSHD', 'sshd']);
    expect(values(s, 'SSHD')).toEqual({ maxretry: '3' });
    expect(values(s, 'sshd')).toEqual({ port: 'ssh' });
  });

  it('keeps continuation lines as new-line separated, unindented, with inner blank lines kept and trailing ones dropped', () => {
    const text = [
      '[Definition]',
      'failregex = ^first <HOST>$',
      '            ^second <HOST>$',
      '',
      '\t^third <HOST>$',
      '# a comment between regexes is not part of the value',
      '    ; neither is an indented ; comment',
      '            ^fourth <HOST>$',
      '',
      '',
      'ignoreregex =',
      'next = 1',
    ].join('\n');
    const s = parseIni(text, 'filter.conf');
    expect(s.get('Definition')?.get('failregex')?.value).toBe('^first <HOST>$\n^second <HOST>$\n\n^third <HOST>$\n^fourth <HOST>$');
    expect(values(s, 'Definition')).toMatchObject({ ignoreregex: '', next: '1' });
    expect(s.get('Definition')?.get('failregex')?.ref).toEqual({ file: 'filter.conf', line: 2 });
    expect(s.get('Definition')?.get('next')?.ref.line).toBe(12);
  });

  it('treats " ;" as an inline comment but not "#" nor a ";" glued to text', () => {
    const s = parseIni(
      ['[a]', 'x = 10m ; ten minutes', 'y = a;b', 'z = value # kept', 'w = ;only comment', '[b] ; header comment', 'k = v'].join('\n'),
      'f.conf',
    );
    expect(values(s, 'a')).toEqual({ x: '10m', y: 'a;b', z: 'value # kept', w: '' });
    expect(values(s, 'b')).toEqual({ k: 'v' });
  });

  it('skips full-line "#" and ";" comments, also indented ones, and blank lines', () => {
    const s = parseIni('# top\n; top too\n\n[a]\n  # indented\nx = 1\n   ;c\n', 'f.conf');
    expect(values(s, 'a')).toEqual({ x: '1' });
  });

  it('lets the last assignment of a duplicate key win, at the key\'s first position', () => {
    const s = parseIni('[a]\nx = 1\ny = 2\nx = 3\n[a]\ny = 4\n', 'f.conf');
    expect([...(s.get('a')?.entries() ?? [])].map(([k, e]) => [k, e.value, e.ref.line])).toEqual([
      ['x', '3', 4],
      ['y', '4', 6],
    ]);
  });

  it('handles CRLF, lone CR and a UTF-8 byte order mark', () => {
    const s = parseIni('\uFEFF[a]\r\nx = 1\r\nmulti = a\r\n  b\r\ny = 2\rz = 3', 'f.conf');
    expect(values(s, 'a')).toEqual({ x: '1', multi: 'a\nb', y: '2', z: '3' });
    expect(s.get('a')?.get('z')?.ref.line).toBe(6);
  });

  it('does not continue a value across a section header, and an indented line after a header is a key', () => {
    const s = parseIni('[a]\nx = 1\n[b]\n   y = 2\n     more\n', 'f.conf');
    expect(values(s, 'a')).toEqual({ x: '1' });
    expect(values(s, 'b')).toEqual({ y: '2\nmore' });
  });

  it('records where each section header first appeared', () => {
    const s = parseIni('[DEFAULT]\na = 1\n\n[sshd]\nb = 2\n[sshd]\nc = 3\n', 'jail.local');
    expect(s.get('sshd')?.ref).toEqual({ file: 'jail.local', line: 4 });
  });

  it.each([
    ['a key before any section', 'x = 1\n[a]\n', 1, /outside any \[section\]/],
    ['a line without a delimiter', '[a]\nx = 1\nthis is not an option\n', 3, /expected "key = value"/],
    ['a delimiter without a key', '[a]\n\n= value\n', 3, /missing option name/],
    ['an empty section header', '[a]\n[]\n', 2, /expected "key = value"/],
  ])('rejects %s with PC_CONFIG_PARSE at file:line', (_what, text, line, message) => {
    const e = thrown(() => parseIni(text, '/etc/x/jail.local'));
    expect(e.code).toBe('PC_CONFIG_PARSE');
    expect(e.location).toEqual({ file: '/etc/x/jail.local', line });
    expect(e.message).toMatch(message);
    expect(e.message.startsWith(`/etc/x/jail.local:${line}: `)).toBe(true);
  });
});

describe('mergeIni', () => {
  it('overrides keys of later files and keeps the replaced values in KNOWN/<section>', () => {
    const into = parseIni('[DEFAULT]\nd = 1\n[sshd]\nport = ssh\nmaxretry = 5\n', 'jail.conf');
    mergeIni(into, parseIni('[DEFAULT]\nd = 2\n[sshd]\nport = %(known/port)s,2222\n[new]\nx = 1\n', 'jail.local'));
    expect(values(into, 'sshd')).toEqual({ port: '%(known/port)s,2222', maxretry: '5' });
    expect(values(into, 'KNOWN/sshd')).toEqual({ port: 'ssh' });
    expect(into.get('KNOWN/sshd')?.get('port')?.ref).toEqual({ file: 'jail.conf', line: 4 });
    expect(values(into, 'DEFAULT')).toEqual({ d: '2' });
    expect(into.has('KNOWN/DEFAULT')).toBe(false);
    expect(values(into, 'new')).toEqual({ x: '1' });
    expect(into.get('sshd')?.ref).toEqual({ file: 'jail.conf', line: 3 });
  });

  it('merges a conditional section [name?cond] into name with suffixed keys', () => {
    const into = parseIni('[Init]\nblocktype = reject\n', 'a.conf');
    mergeIni(into, parseIni('[Init?family=inet6]\nblocktype = reject6\n', 'a.conf'));
    expect(values(into, 'Init')).toEqual({ blocktype: 'reject', 'blocktype?family=inet6': 'reject6' });
  });

  it('does not share entries with the merged-in sections', () => {
    const from = parseIni('[a]\nx = 1\n', 'f.conf');
    const into = mergeIni(new Map(), from);
    (into.get('a')?.get('x') as { value: string }).value = 'changed';
    expect(from.get('a')?.get('x')?.value).toBe('1');
  });
});
