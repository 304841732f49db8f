import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, PortcullisError, describeError } from '../src/errors.js';

describe('error registry', () => {
  it('is documented code by code in docs/errors.md', () => {
    const doc = readFileSync(resolve(import.meta.dirname, '../../../docs/errors.md'), 'utf8');
    for (const code of Object.keys(ERROR_CODES)) expect(doc, code).toContain(`\`${code}\``);
  });

  it('carries code, location and cause', () => {
    const cause = new Error('low level');
    const e = new PortcullisError('PC_CONFIG_INVALID', 'maxretry must be a positive integer', { cause, location: { file: 'jail.local', line: 7 } });
    expect(e.message).toBe('jail.local:7: maxretry must be a positive integer');
    expect(e.cause).toBe(cause);
    expect(describeError(e)).toBe('PC_CONFIG_INVALID: jail.local:7: maxretry must be a positive integer');
  });
});
