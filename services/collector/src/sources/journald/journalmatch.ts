import { PortcullisError, type SourceRef } from '@portcullis/shared';

/** Journal field names: upper-case letters, digits and "_", not starting with a digit (sd_journal_add_match). */
const FIELD_RE = /^[A-Z_][A-Z0-9_]*$/;

/**
 * fail2ban's `journalmatch` as journalctl arguments. fail2ban splits the value like a shell (shlex)
 * and hands each `FIELD=value` term to sd_journal_add_match and each `+` to
 * sd_journal_add_disjunction; journalctl's positional arguments mean exactly the same, so
 * `_SYSTEMD_UNIT=sshd.service + _COMM=sshd` stays those three arguments: terms for different fields
 * are ANDed, terms for the same field ORed, and `+` ORs whole groups.
 */
export function journalmatchArgs(text: string, ref?: SourceRef): string[] {
  const fail = (why: string): PortcullisError =>
    new PortcullisError('PC_CONFIG_INVALID', `journalmatch ${JSON.stringify(text)}: ${why}`, ref ? { location: ref } : {});
  let words: string[];
  try {
    words = shellSplit(text);
  } catch (e) {
    throw fail((e as Error).message);
  }
  let lastWasPlus = true;
  for (const w of words) {
    if (w === '+') {
      if (lastWasPlus) throw fail('"+" must stand between two groups of FIELD=value terms');
      lastWasPlus = true;
      continue;
    }
    const eq = w.indexOf('=');
    const field = eq === -1 ? '' : w.slice(0, eq);
    if (eq <= 0 || !FIELD_RE.test(field)) {
      throw fail(`${JSON.stringify(w)} is not FIELD=value (a field is upper-case letters, digits and "_", e.g. _SYSTEMD_UNIT=sshd.service)`);
    }
    lastWasPlus = false;
  }
  if (words.length > 0 && lastWasPlus) throw fail('"+" must stand between two groups of FIELD=value terms');
  return words;
}

/** POSIX-shell word splitting as Python's shlex.split (quotes and backslashes; no expansions). */
export function shellSplit(text: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quote === "'") {
      if (c === "'") quote = null;
      else cur += c;
    } else if (quote === '"') {
      if (c === '"') quote = null;
      else if (c === '\\' && i + 1 < text.length && '"\\$`\n'.includes(text[i + 1] as string)) cur += text[++i];
      else cur += c;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      inWord = true;
      if (c === "'" || c === '"') quote = c;
      else if (c === '\\' && i + 1 < text.length) cur += text[++i];
      else cur += c;
    }
  }
  if (quote) throw new Error(`unterminated ${quote} quote`);
  if (inWord) words.push(cur);
  return words;
}
