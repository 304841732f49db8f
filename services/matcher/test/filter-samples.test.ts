import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CompiledFilter } from '../src/filter/index.js';
import { createUnicodeTables, FilterCompileCache, loadFilter } from '../src/filter/index.js';

/**
 * One table test over test/samples/<filter>.txt (built-in filters) and test/samples/stock/<filter>.txt
 * (fail2ban's own filters from /etc/fail2ban, expectations checked by hand with fail2ban-regex).
 * File format: see the header of samples/sshd.txt.
 */
const SAMPLES = path.join(path.dirname(new URL(import.meta.url).pathname), 'samples');
const STOCK_DIR = '/etc/fail2ban';
const tables = createUnicodeTables();
// Date templates are compiled once for all the filters of the file (as compileJailFilters does).
const cache = new FilterCompileCache(tables);

interface Expectation {
  kind: 'failure' | 'nomatch' | 'ignored' | 'error';
  attrs: Record<string, string>;
}

interface Sample {
  lineNo: number;
  line: string;
  expect: Expectation;
  options: Record<string, string>;
  now: number;
}

function parseAttrs(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of s.matchAll(/(\w+)=("(?:[^"\\]|\\.)*"|\S+)/g)) {
    const v = m[2] as string;
    out[m[1] as string] = v.startsWith('"') ? (JSON.parse(v) as string) : v;
  }
  return out;
}

function parseSamples(file: string): Sample[] {
  const out: Sample[] = [];
  let options: Record<string, string> = {};
  let now = Date.UTC(2026, 2, 1, 12);
  let pending: Expectation | undefined;
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((text, i) => {
      if (text.startsWith('##') || text.trim() === '') return;
      const d = /^#> (\w+)\s*(.*)$/.exec(text);
      if (d) {
        const [, word, rest] = d as unknown as [string, string, string];
        if (word === 'options') options = parseAttrs(rest);
        else if (word === 'now') now = Date.parse(rest);
        else if (['failure', 'nomatch', 'ignored', 'error'].includes(word)) pending = { kind: word as Expectation['kind'], attrs: parseAttrs(rest) };
        else throw new Error(`${file}:${i + 1}: unknown directive ${word}`);
        return;
      }
      if (!pending) throw new Error(`${file}:${i + 1}: sample line without an expectation before it`);
      out.push({ lineNo: i + 1, line: text, expect: pending, options, now });
      pending = undefined;
    });
  return out;
}

function sampleFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.txt'))
    .map((f) => path.join(dir, f));
}

function runFile(file: string, configDir: string | undefined): void {
  const name = path.basename(file, '.txt');
  const filters = new Map<string, CompiledFilter>();
  const filterFor = (options: Record<string, string>): CompiledFilter => {
    const key = JSON.stringify(options);
    let f = filters.get(key);
    if (!f) {
      f = loadFilter({ name, options, jailOptions: { logtimezone: 'UTC' }, tables, cache, now: Date.UTC(2026, 2, 1), ...(configDir ? { configDir } : {}) });
      filters.set(key, f);
    }
    return f;
  };
  for (const s of parseSamples(file)) {
    it(`${path.basename(path.dirname(file))}/${name}.txt:${s.lineNo} ${s.expect.kind}`, () => {
      const r = filterFor(s.options).match(s.line, { now: s.now, source: file });
      expect(r.kind, JSON.stringify(r)).toBe(s.expect.kind);
      if (r.kind !== 'failure') return;
      const a = s.expect.attrs;
      expect(r.id).toBe(a['id']);
      if ('user' in a) expect(r.user).toBe(a['user']);
      if ('time' in a) expect(new Date(r.time).toISOString()).toBe(new Date(a['time'] as string).toISOString());
    });
  }
}

describe('built-in filter samples', () => {
  for (const f of sampleFiles(SAMPLES)) runFile(f, undefined);
});

describe('fail2ban stock filter samples (from /etc/fail2ban, Debian package fail2ban)', () => {
  it('has the stock filters installed', () => {
    expect(readdirSync(path.join(STOCK_DIR, 'filter.d')), 'install them with: apt-get install -y fail2ban').toContain('sshd.conf');
  });
  for (const f of sampleFiles(path.join(SAMPLES, 'stock'))) runFile(f, STOCK_DIR);
});

/**
 * Built-in filters against fail2ban's own sample logs (the Debian package ships them with its test
 * suite): every line must get fail2ban's expected verdict and address ("failJSON"), for every
 * option set the log names ("filterOptions"), except the lines listed with a reason in
 * samples/fail2ban-differences.tsv (and every listed line must still differ, so the list stays true).
 */
const F2B_LOGS = '/usr/lib/python3/dist-packages/fail2ban/tests/files/logs';
const F2B_COMPARED = ['sshd', 'proftpd', 'vsftpd', 'pure-ftpd', 'dovecot', 'courier-auth', 'courier-smtp', 'postfix', 'exim', 'apache-auth', 'nginx-http-auth', 'nginx-limit-req', 'roundcube-auth', 'recidive'];

function knownDifferences(): Map<string, Set<number>> {
  const out = new Map<string, Set<number>>();
  for (const row of readFileSync(path.join(SAMPLES, 'fail2ban-differences.tsv'), 'utf8').split('\n')) {
    if (row.startsWith('#') || row.trim() === '') continue;
    const [name, line] = row.split('\t');
    const set = out.get(name as string) ?? new Set<number>();
    set.add(Number(line));
    out.set(name as string, set);
  }
  return out;
}

/** fail2ban's failJSON "constraint" expressions, as far as its sample logs use them. */
function constraintHolds(expr: string, opts: Record<string, string>): boolean {
  const byName = /^name == '([\w-]+)'$/.exec(expr);
  if (byName) return byName[1] === 'sshd';
  const byOpt = /^opts\.get\('(\w+)'\) (==|!=) '([^']*)'$/.exec(expr);
  if (!byOpt) throw new Error(`unknown failJSON constraint ${expr}`);
  const equal = opts[byOpt[1] as string] === byOpt[3];
  return byOpt[2] === '==' ? equal : !equal;
}

function compareWithFail2ban(name: string): number[] {
  const differing = new Set<number>();
  const filters = new Map<string, CompiledFilter>();
  let groups: Record<string, string>[] = [{}];
  let expected: { match?: boolean; host?: string; constraint?: string } | undefined;
  const now = Date.UTC(2005, 7, 14, 10);
  readFileSync(path.join(F2B_LOGS, name), 'utf8')
    .split('\n')
    .forEach((line, i) => {
      const d = /^#+ ?(failJSON|filterOptions|fileOptions|addFILE):(.+)$/.exec(line);
      if (d) {
        const data = JSON.parse(d[2] as string) as unknown;
        if (d[1] === 'filterOptions') {
          groups = (Array.isArray(data) ? data : [data]).map((o: Record<string, string>) => Object.fromEntries(Object.entries(o).filter(([k]) => !k.startsWith('test.'))));
        } else if (d[1] === 'failJSON') expected = data as typeof expected;
        return;
      }
      if (line.startsWith('#') || line.trim() === '') return;
      const want = expected ?? {};
      expected = undefined;
      for (const opts of groups) {
        if (want.constraint && !constraintHolds(want.constraint, opts)) continue;
        const key = JSON.stringify(opts);
        let f = filters.get(key);
        if (!f) {
          f = loadFilter({ name, options: opts, tables });
          filters.set(key, f);
        }
        const r = f.match(line, { now, source: name });
        const agrees = want.match ? r.kind === 'failure' && (want.host === undefined || r.id === want.host) : r.kind !== 'failure';
        if (!agrees) differing.add(i + 1);
      }
    });
  return [...differing].sort((a, b) => a - b);
}

describe("built-in filters on fail2ban's own sample logs", () => {
  const known = knownDifferences();
  for (const name of F2B_COMPARED) {
    it(`${name}: same verdicts and addresses as fail2ban expects, but for the listed lines`, () => {
      expect(compareWithFail2ban(name)).toEqual([...(known.get(name) ?? [])].sort((a, b) => a - b));
    });
  }
});
