import RE2 from 're2';
import { createUnicodeTables } from './src/filter/index.js';
import { resolveTags, globalToLocalFlags } from './src/filter/tags.js';
import { parsePythonRegex } from './src/filter/regex/parse-python.js';
import { removeConditionals } from './src/filter/regex/conditional.js';
import { eliminateLookarounds } from './src/filter/regex/lookaround.js';
import { emitRe2 } from './src/filter/regex/emit-re2.js';
const tables = createUnicodeTables();
function plainOf(p: string) {
  const py = globalToLocalFlags(resolveTags(p).pattern);
  const parsed = parsePythonRegex(py); let maxId = parsed.maxId; const nextId = () => ++maxId;
  return eliminateLookarounds(removeConditionals(parsed.root, { next: nextId }), { tables, nextId, budget: { left: 200000 } });
}
const pat = String.raw`^Failed (?:<F-NOFAIL>publickey</F-NOFAIL>|\S+) for (?P<cond_inv>invalid user )?<F-USER>(?P<cond_user>\S+)|(?(cond_inv)(?:(?! from ).)*?|[^:]+)</F-USER> from <HOST>(?: (?:port \d+|on \S+)){0,2}(?: ssh\d*)?(?(cond_user): |(?:(?:(?! from ).)*)$)`;
const content = 'Failed password for alice from 192.0.2.5 port 50122 ssh2\n';
const N = 50000;
function bench(name: string, fn: (i: number) => unknown) { for (let k = 0; k < 2; k++) { const t = process.hrtime.bigint(); for (let i = 0; i < N; i++) fn(i); if (k) console.log(name.padEnd(30), (Number(process.hrtime.bigint() - t) / N).toFixed(0), 'ns'); } }
const plain = plainOf(pat);
console.log(plain.t, plain.t === 'alt' ? plain.items.length : '');
if (plain.t === 'alt') plain.items.forEach((b, i) => {
  for (const ascii of [false, true]) {
    const e = emitRe2(b, tables, new Set(), { ascii });
    const re = new RE2(e.source, 'u');
    const m = re.exec(content);
    console.log(i, ascii, e.source.length, !!m);
    if (m) { bench(' exec', () => re.exec(content)); bench(' test', () => re.test(content)); }
  }
});
