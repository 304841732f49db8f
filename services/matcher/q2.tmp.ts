import { createUnicodeTables, defaultTemplates } from './src/filter/index.js';
import { compileProgram } from './src/filter/regex/backtrack.js';
const ts = defaultTemplates({ tables: createUnicodeTables(), year: 2026 });
for (const t of ts) console.log(!!t.regex.program, t.name, t.regex.source.slice(0, 120));
