#!/usr/bin/env node
// `pnpm bench` lists the benchmarks; `pnpm bench NAME` runs one. A benchmark is a file
// `<package>/bench/<name>.bench.ts` beside the code it measures; it prints its figures and ends
// with one line holding a JSON object of them.
import { spawnSync } from 'node:child_process';
import { readdirSync, existsSync, readFileSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function findBenches() {
  const out = new Map();
  for (const group of ['packages', 'services']) {
    for (const pkg of readdirSync(join(root, group))) {
      const dir = join(root, group, pkg, 'bench');
      if (!existsSync(dir)) continue;
      for (const f of readdirSync(dir)) {
        const m = f.match(/^(.+)\.bench\.ts$/);
        if (m) out.set(m[1], join(dir, f));
      }
    }
  }
  return out;
}

const benches = findBenches();
const name = process.argv[2];
if (!name || name === '--help' || name === '-h') {
  console.log('usage: pnpm bench NAME [args...]\n\nbenchmarks:');
  for (const [n, file] of [...benches].sort()) {
    const first = readFileSync(file, 'utf8').match(/^\/\*\*?\s*\n?\s*\*?\s*(.+)$/m)?.[1] ?? '';
    console.log(`  ${n.padEnd(14)} ${first.replace(/\*\/$/, '').trim()}  (${file.slice(root.length + 1)})`);
  }
  process.exit(name ? 0 : 0);
}
const file = benches.get(name);
if (!file) {
  console.error(`unknown benchmark "${name}"; known: ${[...benches.keys()].sort().join(', ') || 'none'}`);
  process.exit(2);
}
const r = spawnSync(process.execPath, ['--import', 'tsx', '--expose-gc', file, ...process.argv.slice(3)], { stdio: 'inherit', cwd: root });
process.exit(r.status ?? 1);
