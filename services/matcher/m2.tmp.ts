import RE2 from 're2';
import { createUnicodeTables } from './src/filter/index.js';
import { resolveTags, globalToLocalFlags } from './src/filter/tags.js';
import { parsePythonRegex } from './src/filter/regex/parse-python.js';
import { removeConditionals } from './src/filter/regex/conditional.js';
import { eliminateLookarounds } from './src/filter/regex/lookaround.js';
import { emitRe2 } from './src/filter/regex/emit-re2.js';
const tables = createUnicodeTables();
function tr(p: string, ascii: boolean) {
  const py = globalToLocalFlags(resolveTags(p).pattern);
  const parsed = parsePythonRegex(py); let maxId = parsed.maxId; const nextId = () => ++maxId;
  const plain = eliminateLookarounds(removeConditionals(parsed.root, { next: nextId }), { tables, nextId, budget: { left: 200000 } });
  return emitRe2(plain, tables, new Set(), { ascii });
}
const pat = String.raw`^Failed (?:<F-NOFAIL>publickey</F-NOFAIL>|\S+) for (?P<cond_inv>invalid user )?<F-USER>(?P<cond_user>\S+)|(?(cond_inv)(?:(?! from ).)*?|[^:]+)</F-USER> from <HOST>(?: (?:port \d+|on \S+)){0,2}(?: ssh\d*)?(?(cond_user): |(?:(?:(?! from ).)*)$)`;
const content = 'Failed password for alice from 192.0.2.5 port 50122 ssh2\n';
const N = 50000;
function bench(name: string, fn: (i: number) => unknown) { for (let k = 0; k < 2; k++) { const t = process.hrtime.bigint(); for (let i = 0; i < N; i++) fn(i); if (k) console.log(name.padEnd(30), (Number(process.hrtime.bigint() - t) / N).toFixed(0), 'ns'); } }
for (const ascii of [false, true]) {
  const e = tr(pat, ascii);
  const re = new RE2(e.source, 'u');
  console.log(ascii, e.source.length, e.groups.length, re.exec(content)?.groups);
  const cb = Buffer.from(content);
  bench('exec str', () => re.exec(content));
  bench('exec buf', () => re.exec(cb));
  bench('test buf', () => re.test(cb));
  const plain = new RE2(e.source.replace(/\(\?P<g\d+>/g, '(?:'), 'u');
  bench('nogroups exec str', () => plain.exec(content));
}
{
  const e = tr(pat, true);
  for (const keep of [['g40', 'g41'], ['g40', 'g41', 'g1', 'g2', 'g3', 'g4'], ['g41']]) {
    const src = e.source.replace(/\(\?P<(g\d+)>/g, (m, g) => (keep.includes(g) ? m : '(?:'));
    const re = new RE2(src, 'u');
    bench('keep ' + keep.join(','), () => re.exec(content));
    const re2 = new RE2(src.replace(/^\\A/, ''), 'u');
    bench('keep unanch' + keep.join(','), () => re2.exec(content));
  }
}
