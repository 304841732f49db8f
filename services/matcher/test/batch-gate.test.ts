import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mailLog } from '../bench/gen/mail-log.js';
import { sshdLog } from '../bench/gen/sshd-log.js';
import { webLog } from '../bench/gen/web-log.js';
import type { CompiledFilter, MatchResult } from '../src/filter/index.js';
import { createUnicodeTables, defaultTemplates, extractGroups, FilterCompileCache, loadFilter, templatesFor, translatePattern } from '../src/filter/index.js';
import { gateStrings } from '../src/filter/prefilter.js';
import { ANY, complement } from '../src/filter/regex/charset.js';
import { run, RUN_ABORTED, Scratch } from '../src/filter/regex/backtrack.js';

/**
 * The batch path (CompiledFilter.matchBatch) rejects a line with one test of the raw line against
 * strings that must survive the date cut (Prefilter.gate) and runs the date detector on such a line
 * only when it cannot show its state stays as it is (DateDetector.keeps). Both are only allowed to
 * save work: the results must be those of the full path on every line.
 */
const tables = createUnicodeTables();
const cache = new FilterCompileCache(tables);
const START = Date.UTC(2026, 2, 1);
const NOW = START + 30 * 86_400_000;

/** The full path: no gate, so every line gets the date detector, the candidates and the patterns. */
function ungated(f: CompiledFilter): CompiledFilter {
  Object.defineProperty(f, 'gate', { value: undefined });
  return f;
}

function results(f: CompiledFilter, lines: readonly string[], source: string, batch: boolean): MatchResult[] {
  const out: MatchResult[] = [];
  for (let b = 0; b < lines.length; b += 1000) {
    const slice = lines.slice(b, b + 1000);
    const ctx = { now: NOW, source };
    if (batch) out.push(...f.matchBatch(slice, ctx));
    else for (const l of slice) out.push(f.match(l, ctx));
  }
  return out;
}

function generated(gen: typeof sshdLog, n: number, seed = 7): string[] {
  const g = gen(seed, START);
  return Array.from({ length: n }, () => g.next().value.text);
}

describe('gate strings: what the date cut can leave of a string is still in the raw line', () => {
  // Random lines cut at random places: every string of the cut text must leave one of its gate strings in the line.
  let seed = 12345;
  const rnd = (n: number): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  const alphabet = 'ab :[]-1x';
  const word = (n: number): string => Array.from({ length: n }, () => alphabet[rnd(alphabet.length)]).join('');
  const nonWord = complement([48, 57, 65, 90, 95, 95, 97, 122]);

  for (const [label, before, endsBefore] of [
    ['date after any character', ANY, () => true],
    ['date after a non-word character', nonWord, (p: string) => p === '' || !/\w/.test(p.slice(-1))],
  ] as const) {
    it(label, () => {
      let checked = 0;
      for (let i = 0; i < 3000; i++) {
        const p = word(rnd(8));
        if (!endsBefore(p)) continue;
        const line = `${p}DATE${word(1 + rnd(8))}`;
        const text = line.replace('DATE', '');
        for (let a = 0; a < text.length; a++) {
          for (let b = a + 1; b <= Math.min(text.length, a + 9); b++) {
            const s = text.slice(a, b);
            const g = gateStrings(s, before);
            checked++;
            expect(
              g.some((x) => line.includes(x)),
              `${JSON.stringify(s)} in ${JSON.stringify(text)} (line ${JSON.stringify(line)}): ${JSON.stringify(g)}`,
            ).toBe(true);
          }
        }
      }
      expect(checked).toBeGreaterThan(10_000);
    });
  }

  it('no date: the string itself; after non-word characters only: runs of whole words', () => {
    expect(gateStrings('Failed ', [])).toEqual(['Failed']);
    expect(gateStrings('Failed password for ', nonWord)).toEqual(['Failed password', 'password for']);
    expect(gateStrings('wp-login.php', ANY).every((g) => g.length >= 6)).toBe(true);
  });
});

describe('characters that can come right before a date', () => {
  it('line-start templates: nothing or a non-word character; anywhere: anything', () => {
    const ctx = { tables, year: 2026 };
    const lineStart = templatesFor('{^LN-BEG}', ctx);
    for (const t of lineStart) {
      for (const c of 'aZ09_') expect(inRanges(t.charsBefore, c.charCodeAt(0)), `${t.name} ${c}`).toBe(false);
    }
    // {^LN-BEG} allows up to two non-word characters before the date.
    expect(inRanges(lineStart[0]!.charsBefore, '['.charCodeAt(0))).toBe(true);
    const web = templatesFor('%d/%b/%Y:%H:%M:%S %z', ctx)[0]!;
    expect(web.charsBefore).toEqual(ANY);
    expect(templatesFor('{NONE}', ctx)[0]!.charsBefore).toEqual([]);
    expect(defaultTemplates(ctx).some((t) => inRanges(t.charsBefore, 'a'.charCodeAt(0)))).toBe(true);
  });
});

describe('matchBatch gives the full path results, line for line', () => {
  const stock = (name: string, options?: Record<string, string>): CompiledFilter => loadFilter({ configDir: '/etc/fail2ban', name, cache, now: NOW, ...(options ? { options } : {}) });
  const logs: Array<[string, () => CompiledFilter, string[]]> = [
    ['sshd', () => stock('sshd'), generated(sshdLog, 30_000)],
    ['sshd aggressive', () => stock('sshd', { mode: 'aggressive' }), generated(sshdLog, 10_000, 8)],
    ['postfix', () => stock('postfix'), generated(mailLog, 20_000)],
    ['dovecot', () => stock('dovecot'), generated(mailLog, 20_000)],
    ['wordpress', () => loadFilter({ name: 'wordpress', cache, now: NOW }), generated(webLog, 20_000)],
  ];
  for (const [label, load, lines] of logs) {
    it(label, () => {
      const fast = load();
      const full = ungated(load());
      const a = results(fast, lines, 's', true);
      const b = results(full, lines, 's', false);
      expect(a.filter((r) => r.kind === 'failure').length).toBeGreaterThan(100);
      expect(a).toEqual(b);
      expect(fast.stats).toEqual(full.stats);
    });
  }

  it('the built-in sample files', () => {
    const dir = path.join(path.dirname(new URL(import.meta.url).pathname), 'samples');
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.txt'))) {
      const name = file.replace(/\.txt$/, '');
      const lines = readFileSync(path.join(dir, file), 'utf8')
        .split('\n')
        .filter((l) => l !== '' && !l.startsWith('#'));
      const a = results(loadFilter({ name, cache, now: NOW }), lines, 's', true);
      const b = results(ungated(loadFilter({ name, cache, now: NOW })), lines, 's', false);
      expect(a, file).toEqual(b);
    }
  });

  it('a source whose lines switch date formats: skipped lines still move the template the detector tries first', () => {
    // Non-failure lines in another format make the detector switch templates (fail2ban tries the
    // last matching template first); a later line that two templates read differently shows it.
    const lines: string[] = [];
    for (let i = 0; i < 300; i++) {
      const s = String(i % 60).padStart(2, '0');
      lines.push(`Mar  1 10:00:${s} h sshd[${i}]: Failed password for root from 192.0.2.${1 + (i % 200)} port 22 ssh2`);
      lines.push(`2026-03-01 10:01:${s} h cron[1]: (root) CMD (run-parts /etc/cron.hourly)`);
      lines.push(`no date at all ${i}`);
      lines.push(`10:02:${s} h sshd[${i}]: Invalid user x${i} from 198.51.100.${1 + (i % 200)} port 22`);
    }
    const fast = loadFilter({ configDir: '/etc/fail2ban', name: 'sshd', cache, now: NOW });
    const full = ungated(loadFilter({ configDir: '/etc/fail2ban', name: 'sshd', cache, now: NOW }));
    const a = results(fast, lines, 's', true);
    expect(a).toEqual(results(full, lines, 's', false));
    expect(a.filter((r) => r.kind === 'failure').length).toBe(600);
  });

  const dir = mkdtempSync(path.join(tmpdir(), 'pct-gate-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a string of a pattern that the date cut joins together is still found', () => {
    mkdirSync(path.join(dir, 'filter.d'));
    // "[10:00:00] denied" becomes "[] denied": the literal "[] denied " is only in the cut text.
    writeFileSync(path.join(dir, 'filter.d', 'cut.conf'), '[Definition]\nfailregex = ^<HOST> \\[\\] denied\ndatepattern = %%H:%%M:%%S\n');
    const f = loadFilter({ configDir: dir, name: 'cut', cache, now: NOW });
    const r = f.matchBatch(['192.0.2.9 [10:00:00] denied', '192.0.2.9 [10:00:00] allowed', '192.0.2.9 [] denied 10:00:00'], { now: NOW, source: 'c' });
    expect(r.map((x) => x.kind)).toEqual(['failure', 'nomatch', 'failure']);
  });
});

describe('engine instructions for strings and runs up to one character', () => {
  // One comparison for a run of exact characters (OP_STR) and a native indexOf for [^x]* runs:
  // the same answers as RE2, also where they meet the end of the subject and the appended newline.
  const patterns = ['^abc de', 'cde$', '^[^:]+: (?P<rest>.+)$', '(?P<a>[^,]*),(?P<b>[^,]*)$', '^x.*y$', 'ab\\ncd', 'end\\n', '(?:abc|abd)e', '^(?P<n>[^\\n]*)$'];
  const inputs = ['abc de', 'abc d', 'x abcde', 'cde', 'cd', 'k: v', 'k:: v', ': ', 'k:', 'a,b', 'a,b,c', ',', 'xy', 'x y', 'xab', 'end', 'abde', 'abce', 'abdex', ''];
  for (const p of patterns) {
    it(p, () => {
      const t = translatePattern(p, { tables });
      expect(t.program).toBeDefined();
      for (const s of inputs) {
        const caps = new Int32Array(t.program!.slots);
        const r = run(t.program!, s, 0, s.length, true, caps, new Scratch(), 1e6);
        expect(r).not.toBe(RUN_ABORTED);
        const m = t.re2.exec(`${s}\n`);
        expect(r === 1, `${p} on ${JSON.stringify(s)}`).toBe(m !== null);
        if (m) {
          const groups: Record<string, string> = {};
          t.groups.forEach((g, k) => {
            const a = caps[2 * k + 2] as number;
            const b = caps[2 * k + 3] as number;
            if (a >= 0 && b >= 0) groups[g.name] = `${s}\n`.slice(a, b);
          });
          expect(groups, `${p} on ${JSON.stringify(s)}`).toEqual(extractGroups(t, m));
          expect([caps[0], caps[1]]).toEqual([m.index, m.index + (m[0] as string).length]);
        }
      }
    });
  }
});

function inRanges(r: readonly number[], c: number): boolean {
  for (let i = 0; i < r.length; i += 2) if (c >= (r[i] as number) && c <= (r[i + 1] as number)) return true;
  return false;
}
