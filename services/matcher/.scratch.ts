import { translatePattern, extractGroups } from './src/filter/translate.js';
import { createUnicodeTables } from './src/filter/regex/charset.js';
const tables = createUnicodeTables();
const pats = [
  '<HOST>', '<ADDR>', 'a{,2}b', 'x\\d+y', String.raw`^Failed \S+ for (?P<cond_inv>invalid user )?<F-USER>(?P<cond_user>\S+)|(?(cond_inv)(?:(?! from ).)*?|[^:]+)</F-USER> from <HOST>(?: (?:port \d+|on \S+)){0,2}(?: ssh\d*)?(?(cond_user): |(?:(?:(?! from ).)*)$)`,
  String.raw`Failed \b(?!publickey)\S+ for`, String.raw`no matching (?:(?:\w+ (?!found\b)){0,2}\w+) found`,
];
for (const p of pats) {
  try {
    const t = translatePattern(p, { tables });
    console.log(p.slice(0,60), '=>', t.source.length, t.source.slice(0, 300));
  } catch (e) { console.log(p.slice(0,60), 'ERR', (e as any).construct, (e as Error).message); }
}
