import { readFileSync, statSync } from 'node:fs';
import type { OptionReader } from './options.js';

export type Env = Readonly<Record<string, string | undefined>>;

/**
 * A secret (SMTP password, webhook key) never sits in the config itself: it is read from a file
 * (`<name>_file`) or an environment variable (`<name>_env`, which names the variable). Setting both
 * is ambiguous and refused. A file readable by group or others is accepted with a warning.
 */
export function readSecret(
  options: OptionReader,
  keys: { file: string; env: string },
  env: Env,
  warnings: string[],
): string | undefined {
  const file = options.raw(keys.file);
  const variable = options.raw(keys.env);
  if (file !== undefined && variable !== undefined) {
    throw options.error(keys.env, `set either ${keys.file} or ${keys.env}, not both`);
  }
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw options.error(keys.file, `${keys.file}: cannot read ${file}: ${(e as Error).message}`, e);
    }
    const secret = text.replace(/\r?\n$/, '');
    if (secret === '') throw options.error(keys.file, `${keys.file}: ${file} is empty`);
    try {
      if ((statSync(file).mode & 0o077) !== 0) warnings.push(`${file} (${keys.file}) is readable by group or others: chmod 600 it`);
    } catch {
      // readable a moment ago; the warning is only advice
    }
    return secret;
  }
  if (variable !== undefined) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(variable)) {
      throw options.error(keys.env, `${keys.env} must name an environment variable (letters, digits, _), got ${JSON.stringify(variable)}`);
    }
    const secret = env[variable];
    if (secret === undefined || secret === '') throw options.error(keys.env, `${keys.env}: environment variable ${variable} is not set or empty`);
    return secret;
  }
  return undefined;
}
