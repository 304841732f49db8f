import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { configStackFiles, readConfigStack } from '../../src/config/config-stack.js';
import { resolveOption } from '../../src/config/interpolation.js';
import { tempTrees, thrown } from './temp-tree.js';

const trees = tempTrees();
afterEach(() => trees.cleanup());

const rel = (dir: string, files: string[]): string[] => files.map((f) => path.relative(dir, f));

describe('readConfigStack', () => {
  it('reads name.conf, name.d/*.conf sorted, name.local, name.d/*.local sorted, later files winning', () => {
    const dir = trees.make({
      'jail.conf': '[x]\nv = conf\nfrom_conf = 1\n',
      'jail.d/b.conf': '[x]\nv = d-b-conf\n',
      'jail.d/a.conf': '[x]\nv = d-a-conf\n',
      'jail.d/.hidden.conf': '[x]\nv = hidden\n',
      'jail.d/notes.txt': 'not ini at all',
      'jail.local': '[x]\nv = local\n',
      'jail.d/z.local': '[x]\nv = d-z-local\n',
      'jail.d/m.local': '[x]\nv = d-m-local\n',
    });
    const stack = readConfigStack(dir, 'jail');
    expect(rel(dir, stack.files)).toEqual(['jail.conf', 'jail.d/a.conf', 'jail.d/b.conf', 'jail.local', 'jail.d/m.local', 'jail.d/z.local']);
    expect(rel(dir, configStackFiles(dir, 'jail'))).toEqual(rel(dir, stack.files));
    expect(stack.sections.get('x')?.get('v')).toEqual({ value: 'd-z-local', ref: { file: path.join(dir, 'jail.d/z.local'), line: 2 } });
    expect(stack.sections.get('x')?.get('from_conf')?.value).toBe('1');
    // KNOWN keeps the value right before the last override.
    expect(stack.sections.get('KNOWN/x')?.get('v')?.value).toBe('d-m-local');
  });

  it('works with only a .local file, and returns nothing when no file exists', () => {
    const dir = trees.make({ 'jail.local': '[sshd]\nenabled = true\n' });
    expect(rel(dir, readConfigStack(dir, 'jail').files)).toEqual(['jail.local']);
    const none = readConfigStack(dir, 'portcullis');
    expect(none).toEqual({ sections: new Map(), files: [], missing: [] });
  });

  it('reads [INCLUDES] before/after around the including file, relative to its directory, each with its .local', () => {
    const dir = trees.make({
      'jail.conf': '[INCLUDES]\nbefore = paths-debian.conf\nafter = sub/after.conf\n[DEFAULT]\nv = jail\n',
      'paths-debian.conf': '[INCLUDES]\nbefore = paths-common.conf\nafter = paths-overrides.local\n[DEFAULT]\nv = debian\n',
      'paths-common.conf': '[DEFAULT]\nv = common\nonly_common = 1\n',
      'paths-common.local': '[DEFAULT]\nonly_common = 2\n',
      'sub/after.conf': '[INCLUDES]\nbefore = %(dir)s/inner.conf\n[DEFAULT]\ndir = .\n',
      'sub/inner.conf': '[DEFAULT]\ninner = 1\n',
    });
    const stack = readConfigStack(dir, 'jail');
    expect(rel(dir, stack.files)).toEqual([
      'paths-common.conf',
      'paths-common.local',
      'paths-debian.conf',
      'jail.conf',
      'sub/inner.conf',
      'sub/after.conf',
    ]);
    expect(rel(dir, stack.missing)).toEqual(['paths-overrides.local']);
    const d = stack.sections.get('DEFAULT');
    expect(d?.get('v')?.value).toBe('jail');
    expect(d?.get('only_common')?.value).toBe('2');
    expect(d?.get('inner')?.value).toBe('1');
  });

  it('accepts several includes separated by spaces or new lines, and absolute paths', () => {
    const dir = trees.make({ 'a.conf': '[DEFAULT]\na = 1\n', 'b.conf': '[DEFAULT]\nb = 1\n', 'c.conf': '[DEFAULT]\nc = 1\n' });
    const abs = path.join(dir, 'c.conf');
    const top = trees.make({ 'jail.conf': `[INCLUDES]\nbefore = ${dir}/a.conf ${dir}/b.conf\n         ${abs}\n` });
    expect(readConfigStack(top, 'jail').files).toEqual([path.join(dir, 'a.conf'), path.join(dir, 'b.conf'), abs, path.join(top, 'jail.conf')]);
  });

  it('makes %(known/x)s in jail.local see the value from jail.conf', () => {
    const dir = trees.make({
      'jail.conf': '[sshd]\nfailregex = ^one <HOST>$\n            ^two <HOST>$\n',
      'jail.local': '[sshd]\nfailregex = %(known/failregex)s\n            ^three <HOST>$\n',
    });
    expect(resolveOption(readConfigStack(dir, 'jail').sections, 'sshd', 'failregex')).toBe('^one <HOST>$\n^two <HOST>$\n^three <HOST>$');
  });

  it('reports an include cycle with the file and line of the include that closes it', () => {
    const dir = trees.make({
      'jail.conf': '[INCLUDES]\nbefore = a.conf\n',
      'a.conf': '[INCLUDES]\nbefore = b.conf\n',
      'b.conf': '# comment\n[INCLUDES]\nafter = a.conf\n',
    });
    const e = thrown(() => readConfigStack(dir, 'jail'));
    expect(e.code).toBe('PC_CONFIG_INVALID');
    expect(e.location).toEqual({ file: path.join(dir, 'b.conf'), line: 3 });
    expect(e.message).toMatch(/include cycle \(a\.conf -> b\.conf -> a\.conf\)/);
  });

  it('reports a file including itself, and a .local including its .conf', () => {
    const self = trees.make({ 'jail.conf': '[INCLUDES]\nbefore = jail.conf\n' });
    expect(thrown(() => readConfigStack(self, 'jail')).message).toMatch(/include cycle \(jail\.conf -> jail\.conf\)/);
    const pair = trees.make({ 'jail.conf': '[INCLUDES]\nbefore = x.conf\n', 'x.conf': '', 'x.local': '[INCLUDES]\nafter = x.conf\n' });
    expect(thrown(() => readConfigStack(pair, 'jail')).message).toMatch(/include cycle \(x\.local -> x\.conf, which brings x\.local\)/);
  });

  it('passes on parse errors of an included file with its own location', () => {
    const dir = trees.make({ 'jail.conf': '[INCLUDES]\nbefore = broken.conf\n', 'broken.conf': '[DEFAULT]\nno delimiter here\n' });
    const e = thrown(() => readConfigStack(dir, 'jail'));
    expect(e.code).toBe('PC_CONFIG_PARSE');
    expect(e.location).toEqual({ file: path.join(dir, 'broken.conf'), line: 2 });
  });

  it('rejects a file that is not UTF-8', () => {
    const dir = trees.make({ 'jail.conf': '' });
    writeFileSync(path.join(dir, 'jail.conf'), Buffer.from([0x5b, 0x61, 0x5d, 0x0a, 0x78, 0x3d, 0xff, 0xfe, 0x0a]));
    const e = thrown(() => readConfigStack(dir, 'jail'));
    expect(e.code).toBe('PC_CONFIG_PARSE');
    expect(e.message).toMatch(/not valid UTF-8/);
  });
});
