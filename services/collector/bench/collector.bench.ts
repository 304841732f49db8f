/** Collector: file -> NATS throughput (lines/s, MB/s, until JetStream acked the last line) and write-to-publish lag at 10k lines/s */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// Workspace packages must resolve to their TypeScript sources (as in the tests), not to a dist/
// that may be older than the code being measured: re-run with the "source" export condition.
if (!process.execArgv.includes('--conditions=source')) {
  const r = spawnSync(process.execPath, ['--conditions=source', ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
await import('./run-collector-bench.js');
