import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SourceRef } from '@portcullis/shared';
import { PortcullisError, readConfigStack } from '@portcullis/shared';
import { DateDetector } from '../dates/detector.js';
import { zoneOffsetMinutes } from '../dates/strptime.js';
import type { DateTemplate } from '../dates/templates.js';
import { templatesFor } from '../dates/templates.js';
import { combineFilterOptions } from './filter-options.js';
import { CompiledFilter } from './matcher.js';
import { RegexRunner } from './runner.js';
import type { UnicodeTables } from './regex/charset.js';
import { createUnicodeTables } from './regex/charset.js';
import type { TranslatedRegex } from './translate.js';
import { translatePattern, TranslateError } from './translate.js';

/** Our own filters, shipped with the matcher (used when the config dir has no filter.d/<name>). */
export const BUILTIN_FILTER_DIR = fileURLToPath(new URL('../../filters/', import.meta.url));

export interface LoadFilterOptions {
  /** The fail2ban-style config dir holding filter.d/ (optional). */
  configDir?: string;
  name: string;
  /** `filter = name[key=value]` arguments. */
  options?: Record<string, string>;
  /** The jail's options (interpolation variables, and usedns/logtimezone/maxlines overrides). */
  jailOptions?: Record<string, string>;
  /** Share Unicode tables between filters (they cost ~0.1 s each to build). */
  tables?: UnicodeTables;
  /** Clock reading used for %ExY (years fail2ban accepts); defaults to Date.now(). */
  now?: number;
  /** Directory with built-in filters; tests may point elsewhere. */
  builtinDir?: string;
  /** Compiled date templates shared between filters (building them takes most of a load). */
  cache?: FilterCompileCache;
}

/**
 * What loading several filters in one process can share: the Unicode tables and the compiled date
 * templates (immutable), keyed by datepattern and year. One per process, passed explicitly.
 */
export class FilterCompileCache {
  readonly tables: UnicodeTables;
  private readonly templates = new Map<string, DateTemplate[]>();

  constructor(tables: UnicodeTables = createUnicodeTables()) {
    this.tables = tables;
  }

  templatesFor(datepattern: string | undefined, year: number): DateTemplate[] {
    const key = `${year}\0${datepattern ?? ''}`;
    let t = this.templates.get(key);
    if (!t) {
      t = templatesFor(datepattern, { tables: this.tables, year });
      this.templates.set(key, t);
    }
    return t;
  }
}

export function loadFilter(opts: LoadFilterOptions): CompiledFilter {
  const { name } = opts;
  const looked: string[] = [];
  let stack: ReturnType<typeof readConfigStack> | undefined;
  if (!/^[\w.@-]+$/.test(name)) {
    throw new PortcullisError('PC_FILTER_NOT_FOUND', `filter name ${JSON.stringify(name)} is not a plain file name`);
  }
  if (opts.configDir) {
    const s = readConfigStack(opts.configDir, path.join('filter.d', name));
    looked.push(path.join(opts.configDir, 'filter.d', `${name}.conf|.local`));
    if (s.files.length > 0) stack = s;
  }
  const builtinDir = opts.builtinDir ?? BUILTIN_FILTER_DIR;
  if (!stack) {
    looked.push(path.join(builtinDir, `${name}.conf`));
    if (existsSync(path.join(builtinDir, `${name}.conf`))) stack = readConfigStack(builtinDir, name);
  }
  if (!stack) {
    throw new PortcullisError('PC_FILTER_NOT_FOUND', `filter "${name}" not found (looked in ${looked.join(' and ')})`);
  }
  if (!stack.sections.has('Definition')) {
    throw new PortcullisError('PC_FILTER_INVALID', `filter "${name}" has no [Definition] section`, { location: { file: stack.files[0] as string } });
  }
  const def = combineFilterOptions(stack.sections, opts.options ?? {}, opts.jailOptions ?? {});
  const o = def.options;
  const tables = opts.tables ?? opts.cache?.tables ?? createUnicodeTables();
  const useDns = opts.jailOptions?.['usedns'] ?? o['usedns'] ?? 'warn';
  const maxlines = Number.parseInt(opts.jailOptions?.['maxlines'] ?? o['maxlines'] ?? '1', 10);
  const multiline = Number.isFinite(maxlines) && maxlines > 1;
  const compile = (option: string, pattern: string): TranslatedRegex => {
    try {
      // fail2ban compiles only failregex with re.MULTILINE, and only when maxlines > 1.
      return translatePattern(pattern, { tables, useDns, multiline: multiline && option === 'failregex' });
    } catch (e) {
      if (!(e instanceof TranslateError)) throw e;
      const ref: SourceRef | undefined = def.refs[option];
      throw new PortcullisError(
        'PC_FILTER_INVALID',
        `filter "${name}": ${option} pattern ${JSON.stringify(pattern)} cannot be used: ${e.construct} (${e.message})`,
        { cause: e, ...(ref ? { location: ref } : {}) },
      );
    }
  };
  const lines = (v: string | undefined): string[] => (v ?? '').split('\n').filter((l) => l.trim() !== '');
  const failregex = lines(o['failregex']).map((p) => compile('failregex', p));
  if (failregex.length === 0) {
    throw new PortcullisError('PC_FILTER_INVALID', `filter "${name}" has no failregex`, { location: def.refs['failregex'] ?? { file: stack.files[0] as string } });
  }
  const ignoreregex = lines(o['ignoreregex']).map((p) => compile('ignoreregex', p));
  const prefText = (o['prefregex'] ?? '').trim();
  const prefregex = prefText === '' ? undefined : compile('prefregex', prefText);
  const logtimezone = opts.jailOptions?.['logtimezone'] ?? o['logtimezone'];
  let defaultOffset: number | undefined;
  if (logtimezone !== undefined && logtimezone.trim() !== '') {
    defaultOffset = zoneOffsetMinutes(logtimezone.trim());
    if (defaultOffset === undefined) {
      throw new PortcullisError('PC_FILTER_INVALID', `filter "${name}": logtimezone ${JSON.stringify(logtimezone)} is not a zone fail2ban accepts (UTC, CET, +0200, UTC+01:00, ...)`);
    }
  }
  const datepattern = opts.jailOptions?.['datepattern'] ?? o['datepattern'];
  let dates: DateDetector | undefined;
  const runner = new RegexRunner();
  try {
    const year = new Date(opts.now ?? Date.now()).getUTCFullYear();
    const templates = opts.cache && (!opts.tables || opts.tables === opts.cache.tables) ? opts.cache.templatesFor(datepattern, year) : templatesFor(datepattern, { tables, year });
    dates = new DateDetector(templates, defaultOffset === undefined ? { runner } : { defaultOffset, runner });
  } catch (e) {
    const ref = def.refs['datepattern'];
    throw new PortcullisError('PC_FILTER_INVALID', `filter "${name}": datepattern ${JSON.stringify(datepattern)} cannot be used: ${(e as Error).message}`, {
      cause: e,
      ...(ref ? { location: ref } : {}),
    });
  }
  return new CompiledFilter({
    name,
    failregex,
    ignoreregex,
    prefregex,
    dates,
    maxlines: Number.isFinite(maxlines) && maxlines > 0 ? maxlines : 1,
    journalmatch: lines(o['journalmatch']),
    datepattern,
    logtimezone,
    files: stack.files,
    runner,
  });
}
