import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import {
  BUILTIN_FILTER_DIR,
  CompiledFilter,
  createUnicodeTables,
  loadFilter,
  MAX_LINE_LENGTH,
  translatePattern,
  TranslateError,
  type MatchResult,
  type TranslatedRegex,
  type UnicodeTables,
} from '@portcullis/matcher';
import { isPortcullisError, PortcullisError } from '@portcullis/shared';
import { EXIT } from '../exit-codes.js';

export interface RegexOptions {
  config: string;
  state: string;
  printAllMatched?: boolean;
  printAllMissed?: boolean;
  json?: boolean;
  now?: string;
  option: string[];
}

/** fail2ban-regex prints missed/ignored lines by itself only while there are fewer than this. */
const AUTO_PRINT_LIMIT = 20;

interface Stats {
  lines: number;
  matched: number;
  ignored: number;
  missed: number;
  errors: number;
  failHits: number[];
  ignoreHits: number[];
  dateHits: Map<string, number>;
  matchedLines: string[];
  missedLines: string[];
  ignoredLines: string[];
}

/**
 * `portcullis regex LOG FILTER [IGNOREREGEX]`: the fail2ban-regex of Portcullis. LOG is a file or
 * a single line; FILTER is a filter file, a filter name (`name[k=v,...]` allowed; the config dir's
 * filter.d first, then the built-in filters) or a regex; IGNOREREGEX (a regex or a file of them)
 * is added to the filter's own ignoreregex, as fail2ban-regex does.
 */
export async function regexCommand(log: string, filterSpec: string, ignore: string | undefined, opts: RegexOptions): Promise<number> {
  const started = process.hrtime.bigint();
  const options = parseOptions(opts.option);
  const now = opts.now === undefined ? Date.now() : parseNow(opts.now);
  const tables = createUnicodeTables();
  const filter = withExtraIgnore(resolveFilter(filterSpec, options, opts.config, now, tables), ignore, tables);
  const lines = readInput(log);
  const source = isFile(log) ? log : 'command-line';
  const stats: Stats = {
    lines: 0,
    matched: 0,
    ignored: 0,
    missed: 0,
    errors: 0,
    failHits: filter.failregex.map(() => 0),
    ignoreHits: filter.ignoreregex.map(() => 0),
    dateHits: new Map(),
    matchedLines: [],
    missedLines: [],
    ignoredLines: [],
  };
  const out: string[] = [];
  lines.forEach((text, i) => {
    stats.lines++;
    const r = filter.match(text, { now, source });
    record(filter, text, r, stats);
    if (opts.json) out.push(JSON.stringify(jsonRow(i + 1, r)));
  });
  if (opts.json) {
    process.stdout.write(out.join('\n') + (out.length ? '\n' : ''));
    return EXIT.OK;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  printSummary(filter, filterSpec, ignore, source, stats, seconds, opts);
  return EXIT.OK;
}

function jsonRow(line: number, r: MatchResult): Record<string, unknown> {
  if (r.kind === 'failure') return { line, match: true, host: r.id, time: Math.floor(r.time / 1000), fields: r.fields };
  const base = { line, match: false, host: null, time: null, fields: {} };
  if (r.kind === 'error') return { ...base, error: r.reason };
  return r.kind === 'ignored' ? { ...base, ignored: true } : base;
}

function record(filter: CompiledFilter, text: string, r: MatchResult, stats: Stats): void {
  const view = analyse(filter, text);
  if (view.template) stats.dateHits.set(view.template, (stats.dateHits.get(view.template) ?? 0) + 1);
  switch (r.kind) {
    case 'failure': {
      stats.matched++;
      const i = firstHit(filter.failregex, view.texts);
      if (i >= 0) stats.failHits[i] = (stats.failHits[i] ?? 0) + 1;
      const when = new Date(r.time).toISOString();
      stats.matchedLines.push(`${text}  -> ${r.id} at ${when}${r.user !== undefined ? ` (user ${JSON.stringify(r.user)})` : ''}`);
      break;
    }
    case 'ignored': {
      stats.ignored++;
      const i = firstHit(filter.ignoreregex, view.texts);
      if (i >= 0) stats.ignoreHits[i] = (stats.ignoreHits[i] ?? 0) + 1;
      stats.ignoredLines.push(text);
      break;
    }
    case 'error':
      stats.errors++;
      stats.missedLines.push(`${text}  (error: ${r.reason})`);
      break;
    case 'nomatch':
      stats.missed++;
      stats.missedLines.push(text);
      break;
  }
}

/**
 * What the engine's MatchResult does not say: which date template cut the date out, and the texts
 * the patterns ran on (the line without its date, and prefregex's content), so the command can
 * find which failregex/ignoreregex hit. Follows CompiledFilter.match's order of work.
 */
function analyse(filter: CompiledFilter, raw: string): { template: string | undefined; texts: string[] } {
  let line = raw.length > MAX_LINE_LENGTH ? raw.slice(0, MAX_LINE_LENGTH) : raw;
  line = line.replace(/[\r\n]+$/, '');
  let template: string | undefined;
  let text = line;
  for (const t of filter.dates?.templates ?? []) {
    const m = t.regex.re2.exec(line);
    const span = m?.indices?.groups ? t.regex.groups.filter((g) => g.name === '1').map((g) => m.indices?.groups?.[g.re2]).find((s) => s !== undefined) : undefined;
    if (!span) continue;
    template = t.name;
    text = line.slice(0, span[0]) + line.slice(span[1]);
    break;
  }
  const whole = `${text}\n`;
  const texts = [whole];
  if (filter.prefregex) {
    const m = filter.prefregex.re2.exec(whole);
    const content = m?.groups ? filter.prefregex.groups.filter((g) => g.name === 'content').map((g) => m.groups?.[g.re2]).find((v) => v !== undefined) : undefined;
    if (content) texts.unshift(`${content}\n`);
  }
  return { template, texts };
}

function firstHit(list: readonly TranslatedRegex[], texts: readonly string[]): number {
  for (const text of texts) {
    const i = list.findIndex((r) => r.re2.test(text));
    if (i >= 0) return i;
  }
  return -1;
}

function printSummary(filter: CompiledFilter, spec: string, ignore: string | undefined, source: string, s: Stats, seconds: number, opts: RegexOptions): void {
  const w = (line: string) => process.stdout.write(`${line}\n`);
  const list = (header: string, items: readonly string[]) => {
    w(`|- ${header}`);
    for (const item of items) w(`|  ${item}`);
    w('`-');
  };
  w('');
  w('Running tests');
  w('=============');
  w('');
  w(`Use   failregex filter file : ${filter.name}${filter.files.length ? `, files: ${filter.files.join(', ')}` : ` (${spec})`}`);
  w(`Use         maxlines : ${filter.maxlines}`);
  w(`Use      datepattern : ${filter.datepattern ?? 'Default Detectors'}`);
  if (ignore !== undefined) w(`Use ignoreregex line : ${ignore}`);
  w(`Use         log file : ${source}`);
  w('');
  w('');
  w('Results');
  w('=======');
  w('');
  const hits = (title: string, regexes: readonly TranslatedRegex[], counts: readonly number[]) => {
    const total = counts.reduce((a, b) => a + b, 0);
    w(`${title}: ${total} total`);
    if (total === 0) return w('');
    w('|-  #) [# of hits] regular expression');
    regexes.forEach((r, i) => {
      if (counts[i]) w(`|   ${i + 1}) [${counts[i]}] ${r.original}`);
    });
    w('`-');
    w('');
  };
  hits('Failregex', filter.failregex, s.failHits);
  hits('Ignoreregex', filter.ignoreregex, s.ignoreHits);
  w('Date template hits:');
  w('|- [# of hits] date format');
  for (const [name, n] of s.dateHits) w(`|  [${n}] ${name}`);
  w('`-');
  w('');
  w(`Lines: ${s.lines} lines, ${s.ignored} ignored, ${s.matched} matched, ${s.missed + s.errors} missed`);
  if (s.errors) w(`Errors: ${s.errors} lines could not be judged (listed with the missed lines)`);
  w(`[processed in ${seconds.toFixed(2)} sec]`);
  w('');
  const maybe = (kind: string, items: readonly string[], all: boolean) => {
    if (items.length === 0) return;
    if (all || items.length < AUTO_PRINT_LIMIT) list(`${kind} line(s):`, items);
    else w(`|- ${kind} line(s): too many to print.  Use --print-all-${kind.toLowerCase()} to print all ${items.length} lines`);
  };
  maybe('Ignored', s.ignoredLines, false);
  if (opts.printAllMatched) maybe('Matched', s.matchedLines, true);
  maybe('Missed', s.missedLines, opts.printAllMissed === true);
}

function parseOptions(list: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of list) {
    const i = kv.indexOf('=');
    if (i <= 0) throw new PortcullisError('PC_CONFIG_INVALID', `--option ${JSON.stringify(kv)}: expected key=value`);
    out[kv.slice(0, i).trim()] = kv.slice(i + 1).trim();
  }
  return out;
}

function parseNow(s: string): number {
  const n = Number(s);
  if (s.trim() === '' || !Number.isFinite(n) || n < 0) throw new PortcullisError('PC_CONFIG_INVALID', `--now ${JSON.stringify(s)}: expected epoch seconds`);
  return Math.round(n * 1000);
}

function isFile(p: string): boolean {
  return existsSync(p) && statSync(p).isFile();
}

function readInput(log: string): string[] {
  if (!isFile(log)) return [log];
  const lines = readFileSync(log, 'utf8').split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** `name[k=v, k2=v2]` as fail2ban-regex accepts it; values may not contain "," or "]". */
function splitNameOptions(spec: string): { name: string; options: Record<string, string> } | undefined {
  const m = /^([\w.@-]+)(?:\[(.*)\])?$/.exec(spec);
  if (!m) return undefined;
  const options: Record<string, string> = {};
  for (const part of (m[2] ?? '').split(',')) {
    if (part.trim() === '') continue;
    const i = part.indexOf('=');
    if (i <= 0) return undefined;
    options[part.slice(0, i).trim()] = part.slice(i + 1).trim().replace(/^(["'])(.*)\1$/, '$2');
  }
  return { name: m[1] as string, options };
}

/**
 * A filter name, a filter file, or a regex (anything else). Options are filter arguments and also
 * the jail-level settings fail2ban-regex takes as flags (logtimezone, usedns, maxlines, datepattern).
 */
function resolveFilter(spec: string, options: Record<string, string>, configDir: string, now: number, tables: UnicodeTables): CompiledFilter {
  if (isFile(spec)) {
    const dir = dirname(spec);
    const name = basename(spec).replace(/\.(conf|local)$/, '');
    // A file inside a fail2ban-style tree keeps its [INCLUDES] (common.conf beside it).
    if (basename(dir) === 'filter.d') return loadFilter({ configDir: dirname(dir), name, options, jailOptions: options, now, tables });
    return withTree(name, readFileSync(spec, 'utf8'), dir, (root) => loadFilter({ configDir: root, name, options, jailOptions: options, now, tables }));
  }
  const named = splitNameOptions(spec);
  if (named) {
    // Without a config dir of the user's, built-in filters answer.
    const userDir = existsSync(configDir) ? { configDir } : {};
    const all = { ...named.options, ...options };
    return loadFilter({ ...userDir, name: named.name, options: all, jailOptions: all, now, tables });
  }
  const text = `[Definition]\nfailregex = ${spec.replace(/%/g, '%%').replace(/\n/g, '\n  ')}\n`;
  try {
    return withTree('command-line', text, undefined, (root) => loadFilter({ configDir: root, name: 'command-line', options, jailOptions: options, now, tables }));
  } catch (e) {
    // The location would name the throw-away file: the pattern itself is in the message.
    if (!isPortcullisError(e) || !e.location) throw e;
    const where = `${e.location.file}${e.location.line === undefined ? '' : `:${e.location.line}`}: `;
    throw new PortcullisError(e.code, e.message.startsWith(where) ? e.message.slice(where.length) : e.message, { cause: e.cause });
  }
}

/** The IGNOREREGEX argument (a regex, or a file with one per line) added to the filter's own. */
function withExtraIgnore(filter: CompiledFilter, ignore: string | undefined, tables: UnicodeTables): CompiledFilter {
  if (ignore === undefined) return filter;
  const patterns = isFile(ignore)
    ? readFileSync(ignore, 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#'))
    : [ignore];
  const extra = patterns.map((p) => {
    try {
      return translatePattern(p, { tables });
    } catch (e) {
      if (!(e instanceof TranslateError)) throw e;
      throw new PortcullisError('PC_FILTER_INVALID', `ignoreregex ${JSON.stringify(p)} cannot be used: ${e.construct} (${e.message})`, { cause: e });
    }
  });
  return new CompiledFilter({ ...filter, name: filter.name, ignoreregex: [...filter.ignoreregex, ...extra] });
}

/**
 * Runs the regular loader (includes, dates, tags) on a filter that is not in a filter.d: a
 * throw-away filter.d holds it and the common.conf/common.local it includes (the ones beside it,
 * else Portcullis' built-in common.conf).
 */
function withTree<T>(name: string, text: string, besideDir: string | undefined, fn: (root: string) => T): T {
  const root = mkdtempSync(join(tmpdir(), 'portcullis-regex-'));
  try {
    mkdirSync(join(root, 'filter.d'));
    writeFileSync(join(root, 'filter.d', `${name}.conf`), text);
    for (const inc of ['common.conf', 'common.local']) {
      const from = [besideDir, BUILTIN_FILTER_DIR].filter((d): d is string => d !== undefined).map((d) => join(d, inc)).find(isFile);
      if (from && name !== inc.replace(/\.\w+$/, '')) writeFileSync(join(root, 'filter.d', inc), readFileSync(from));
    }
    return fn(root);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
