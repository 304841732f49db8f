// Regenerates docs/errors.md from the error registry: `node --import tsx scripts/gen-errors-doc.ts`.
// packages/shared/test/errors-doc.test.ts fails when a code is missing from the page.
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ERROR_CODES } from '../packages/shared/src/errors.js';

const lines = [
  '# Error codes',
  '',
  'Every error Portcullis reports carries one of these codes (`portcullis: CODE: message` on the',
  'CLI, `"code"` in control replies and HTTP errors, `err` in logs). The registry is',
  '`packages/shared/src/errors.ts`; codes are never renamed. Errors that come from a configuration file',
  'name the file and line.',
  '',
  '| code | meaning |',
  '|---|---|',
  ...Object.entries(ERROR_CODES).map(([code, text]) => `| \`${code}\` | ${text} |`),
  '',
];
writeFileSync(resolve(import.meta.dirname, '../docs/errors.md'), lines.join('\n'));
