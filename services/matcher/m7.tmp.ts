import { createUnicodeTables } from './src/filter/index.js';
import { parsePythonRegex } from './src/filter/regex/parse-python.js';
import { compileProgram, run, Scratch, RUN_ABORTED } from './src/filter/regex/backtrack.js';
const tables = createUnicodeTables();
const p = parsePythonRegex('^[a-z ]*x');
const prog = compileProgram(p.root, tables, []);
const s = 'abcdefghij klmnopqrstu vwxyzabcde fghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzx';
const caps = new Int32Array(prog.slots); const sc = new Scratch();
let lo = 0, hi = 100000; while (lo < hi) { const m = (lo + hi) >> 1; if (run(prog, s, 0, s.length, true, caps, sc, m) === RUN_ABORTED) lo = m + 1; else hi = m; }
console.log('steps', lo, 'prog', prog.length);
const N = 200000;
for (let k = 0; k < 3; k++) { const t = process.cpuUsage(); for (let i = 0; i < N; i++) run(prog, s, 0, s.length, true, caps, sc, 1e9); const u = process.cpuUsage(t); console.log(((u.user + u.system) * 1000 / N / lo).toFixed(2), "ns/step cpu"); }
