import RE2 from 're2';
import { createUnicodeTables } from './src/filter/index.js';
import { resolveTags, globalToLocalFlags } from './src/filter/tags.js';
import { parsePythonRegex } from './src/filter/regex/parse-python.js';
import { removeConditionals } from './src/filter/regex/conditional.js';
import { eliminateLookarounds } from './src/filter/regex/lookaround.js';
import { emitRe2 } from './src/filter/regex/emit-re2.js';
import { compileProgram, run, Scratch } from './src/filter/regex/backtrack.js';
const tables = createUnicodeTables();
function tr(p: string) {
  const py = globalToLocalFlags(resolveTags(p).pattern);
  const parsed = parsePythonRegex(py); let maxId = parsed.maxId; const nextId = () => ++maxId;
  const plain = eliminateLookarounds(removeConditionals(parsed.root, { next: nextId }), { tables, nextId, budget: { left: 200000 } });
  const e = emitRe2(plain, tables);
  const prog = compileProgram(plain, tables, e.groups.map((g) => Number(g.re2.slice(1))));
  return { e, prog, re: new RE2(e.source, 'u') };
}
const pat = String.raw`^Failed (?:<F-NOFAIL>publickey</F-NOFAIL>|\S+) for (?P<cond_inv>invalid user )?<F-USER>(?P<cond_user>\S+)|(?(cond_inv)(?:(?! from ).)*?|[^:]+)</F-USER> from <HOST>(?: (?:port \d+|on \S+)){0,2}(?: ssh\d*)?(?(cond_user): |(?:(?:(?! from ).)*)$)`;
const content = 'Failed password for alice from 192.0.2.5 port 50122 ssh2';
const { e, prog, re } = tr(pat);
console.log('prog', prog.length, 'anch', prog.anchored);
const caps = new Int32Array(prog.slots); const sc = new Scratch();
console.log(run(prog, content, 0, content.length, true, caps, sc, 1e6), [...caps]);
const m = re.exec(content + '\n'); console.log(m?.index, m?.[0].length, e.groups.map((g) => m?.groups?.[g.re2]));
const N = 100000;
function bench(name: string, fn: (i: number) => unknown) { for (let k = 0; k < 2; k++) { const t = process.cpuUsage(); for (let i = 0; i < N; i++) fn(i); const u = process.cpuUsage(t); if (k) console.log(name.padEnd(30), ((u.user + u.system) * 1000 / N).toFixed(0), "ns cpu"); } }
bench('js run', () => run(prog, content, 0, content.length, true, caps, sc, 1e6));
const miss = 'Accepted password for alice from 192.0.2.5 port 50122 ssh2';
bench('js run miss', () => run(prog, miss, 0, miss.length, true, caps, sc, 1e6));
const inv = 'Failed password for invalid user admin from 192.0.2.5 port 50122 ssh2';
bench('js run inv', () => run(prog, inv, 0, inv.length, true, caps, sc, 1e6));
console.log(run(prog, inv, 0, inv.length, true, caps, sc, 1e6), [...caps]);
for (const b of [100, 200, 400, 800, 1600, 3200, 6400]) console.log(b, run(prog, content, 0, content.length, true, caps, sc, b));
