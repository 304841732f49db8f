import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createUnicodeTables } from '../src/filter/regex/charset.js';
import { extractGroups, translatePattern, TranslateError } from '../src/filter/translate.js';

/**
 * Equivalence of our RE2 translation with Python: translation-expected.json holds what fail2ban's
 * own Regex class returned for each pattern and input (see fixtures/gen-python-oracle.py).
 */
interface Case {
  pattern: string;
  inputs: string[];
  expected?: Array<Record<string, string> | null>;
  error?: string;
}

const cases = JSON.parse(readFileSync(new URL('./fixtures/translation-expected.json', import.meta.url), 'utf8')) as Case[];
const tables = createUnicodeTables();

describe('translation to RE2 matches Python re (fail2ban Regex) on sample inputs', () => {
  for (const c of cases) {
    it(c.pattern, () => {
      if (c.error !== undefined) {
        expect(() => translatePattern(c.pattern, { tables })).toThrow(TranslateError);
        return;
      }
      const t = translatePattern(c.pattern, { tables });
      const got = c.inputs.map((line) => {
        const m = t.re2.exec(`${line}\n`);
        return m ? extractGroups(t, m) : null;
      });
      expect(got).toEqual(c.expected);
    });
  }
});

describe('constructs that cannot be translated are named', () => {
  const bad: Array<[string, RegExp]> = [
    [String.raw`^(?P<n>\d+) again (?P=n)$`, /back-reference \(\?P=n\) to a group with unbounded values/],
    [String.raw`(?<=ab)c`, /look-behind/],
    [String.raw`a(?>bc)`, /atomic group/],
    [String.raw`a*+`, /possessive/],
    [String.raw`x(?:(?!ab).)*y`, /look-ahead inside an unbounded repetition/],
    [String.raw`a{1001}`, /repeat count above 1000/],
  ];
  for (const [p, construct] of bad) {
    it(p, () => {
      try {
        translatePattern(p, { tables });
        expect.unreachable('translation should fail');
      } catch (e) {
        expect(e).toBeInstanceOf(TranslateError);
        expect(`${(e as TranslateError).construct} ${(e as Error).message}`).toMatch(construct);
      }
    });
  }
});
