import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createUnicodeTables, extractGroups, loadFilter, RegexRunner, translatePattern } from '../src/filter/index.js';
import { run, RUN_ABORTED, Scratch } from '../src/filter/regex/backtrack.js';

/**
 * The in-process engine must answer exactly as RE2 does (it only exists to be faster), and the
 * literal prefilter may only skip lines a pattern cannot match.
 */
const tables = createUnicodeTables();
const cases = JSON.parse(readFileSync(new URL('./fixtures/translation-expected.json', import.meta.url), 'utf8')) as Array<{ pattern: string; inputs: string[]; error?: string }>;

function viaRe2(t: ReturnType<typeof translatePattern>, s: string): Record<string, string> | null {
  const m = t.re2.exec(`${s}\n`);
  return m ? extractGroups(t, m) : null;
}

function viaEngine(t: ReturnType<typeof translatePattern>, s: string): Record<string, string> | null | 'aborted' {
  const prog = t.program;
  if (!prog) return 'aborted';
  const caps = new Int32Array(prog.slots);
  const r = run(prog, s, 0, s.length, true, caps, new Scratch(), 1e7);
  if (r === RUN_ABORTED) return 'aborted';
  if (r === 0) return null;
  const out: Record<string, string> = {};
  t.groups.forEach((g, k) => {
    const a = caps[2 * k + 2] as number;
    const b = caps[2 * k + 3] as number;
    if (a >= 0 && b >= 0) out[g.name] = `${s}\n`.slice(a, b);
  });
  return out;
}

/** ASCII variations of an input: prefixes, suffixes, spliced copies (where backtracking differs). */
function variants(s: string): string[] {
  const out = new Set([s, '', `${s} ${s}`, `x${s}`, `${s}x`]);
  for (let i = 0; i <= s.length; i += Math.max(1, Math.floor(s.length / 7))) {
    out.add(s.slice(0, i));
    out.add(s.slice(i));
    out.add(s.slice(0, i) + s.slice(i).replace(/ /g, '  '));
  }
  // eslint-disable-next-line no-control-regex -- ASCII from NUL
  return [...out].filter((v) => /^[\x00-\x7f]*$/.test(v));
}

describe('the in-process engine answers as RE2 on the translation fixtures', () => {
  let compared = 0;
  for (const c of cases) {
    if (c.error !== undefined) continue;
    it(c.pattern, () => {
      const t = translatePattern(c.pattern, { tables });
      for (const input of c.inputs.flatMap(variants)) {
        const fast = viaEngine(t, input);
        if (fast === 'aborted') continue;
        compared++;
        expect(fast, JSON.stringify(input)).toEqual(viaRe2(t, input));
      }
    });
  }
  it('compared something', () => expect(compared).toBeGreaterThan(200));
});

describe('the engine on stock filters and real lines', () => {
  const lines = readFileSync(new URL('./samples/stock/sshd.txt', import.meta.url), 'utf8')
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'));
  const sshd = loadFilter({ configDir: '/etc/fail2ban', name: 'sshd', options: { mode: 'aggressive' }, tables });
  it('every failregex and the prefregex agree with RE2 on the sample lines and their variations', () => {
    let n = 0;
    for (const t of [...sshd.failregex, sshd.prefregex!]) {
      for (const l of lines.flatMap(variants)) {
        const text = l.replace(/^\w{3} [ \d]\d \d\d:\d\d:\d\d/, '');
        const fast = viaEngine(t, text);
        if (fast === 'aborted') continue;
        n++;
        expect(fast, `${t.original} on ${JSON.stringify(text)}`).toEqual(viaRe2(t, text));
      }
    }
    expect(n).toBeGreaterThan(1000);
  });

  it('a run that exceeds its step budget is aborted (the runner then asks RE2), and long lines stay linear', () => {
    const t = sshd.failregex.find((r) => r.original.startsWith('^Failed (?:'))!;
    const hostile = `Failed password for ${'a from 192.0.2.1 port 1 '.repeat(150)}x from 198.51.100.7 port 22 ssh2`;
    const caps = new Int32Array(t.program!.slots);
    expect(run(t.program!, hostile, 0, hostile.length, true, caps, new Scratch(), 50)).toBe(RUN_ABORTED);
    const scratch = new Scratch();
    expect(run(t.program!, hostile, 0, hostile.length, true, caps, scratch, 1e7)).toBe(1);
    // Repetitions scan runs of one class and only try the lengths the rest can continue from.
    expect(scratch.steps).toBeLessThan(4 * hostile.length);
    const runner = new RegexRunner();
    expect(runner.exec(t, hostile, 0, hostile.length, true, true)?.groups).toEqual(viaRe2(t, hostile));
  });

  it('non-ASCII text goes to RE2', () => {
    const runner = new RegexRunner();
    const t = sshd.failregex.find((r) => r.original.startsWith('^Failed (?:'))!;
    const line = 'Failed password for jürgen from 192.0.2.4 port 1 ssh2';
    const m = runner.exec(t, line, 0, line.length, true, false);
    expect(m?.groups['user']).toBe('jürgen');
    expect(runner.re2Runs).toBe(1);
  });
});

describe('required literals are necessary conditions', () => {
  it('every line a pattern matches contains a string of each of its clauses', () => {
    let checked = 0;
    for (const c of cases) {
      if (c.error !== undefined) continue;
      const t = translatePattern(c.pattern, { tables });
      for (const input of c.inputs.flatMap(variants)) {
        if (!viaRe2(t, input)) continue;
        for (const clause of t.literals) {
          checked++;
          expect(clause.some((s) => input.includes(s)), `${c.pattern} on ${JSON.stringify(input)}: ${JSON.stringify(clause)}`).toBe(true);
        }
      }
    }
    expect(checked).toBeGreaterThan(20);
  });
});
