import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { loadFilter, type CompiledFilter } from '@portcullis/matcher';
import { PortcullisError } from '@portcullis/shared';
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

/**
 * `portcullis regex LOG FILTER [IGNOREREGEX]`: the fail2ban-regex of Portcullis. LOG is a file or
 * a single line; FILTER is a filter file, a filter name (config dir, then built in) or a regex.
 */
export async function regexCommand(log: string, filterSpec: string, ignore: string | undefined, opts: RegexOptions): Promise<number> {
  const options = parseOptions(opts.option);
  const now = opts.now === undefined ? Date.now() : parseNow(opts.now);
  const filter = resolveFilter(filterSpec, ignore, options, opts.config, now);
  const lines = readInput(log);
  const summary = { lines: 0, matched: 0, ignored: 0, missed: 0, errors: 0 };
  const matched: string[] = [];
  const missed: string[] = [];
  const out: string[] = [];
  const source = existsSync(log) ? log : 'command-line';
  lines.forEach((text, i) => {
    summary.lines++;
    const r = filter.match(text, { now, source });
    if (opts.json) {
      const base = { line: i + 1 };
      if (r.kind === 'failure') out.push(JSON.stringify({ ...base, match: true, host: r.id, time: Math.floor(r.time / 1000), fields: r.fields }));
      else if (r.kind === 'error') out.push(JSON.stringify({ ...base, match: false, host: null, time: null, fields: {}, error: r.reason }));
      else out.push(JSON.stringify({ ...base, match: false, host: null, time: null, fields: {}, ...(r.kind === 'ignored' ? { ignored: true } : {}) }));
    }
    if (r.kind === 'failure') {
      summary.matched++;
      matched.push(`${text}  -> ${r.id}`);
    } else if (r.kind === 'ignored') summary.ignored++;
    else if (r.kind === 'error') {
      summary.errors++;
      missed.push(`${text}  (error: ${r.reason})`);
    } else {
      summary.missed++;
      missed.push(text);
    }
  });
  if (opts.json) {
    process.stdout.write(out.join('\n') + (out.length ? '\n' : ''));
    return EXIT.OK;
  }
  const w = (s: string) => process.stdout.write(s + '\n');
  w('');
  w('Running tests');
  w('=============');
  w('');
  w(`Use      failregex filter : ${filter.name}${filter.files.length ? ` (${filter.files.join(', ')})` : ''}`);
  w(`Use         log file/line : ${source}`);
  w('');
  w(`Results`);
  w(`=======`);
  w('');
  w(`Failregex: ${summary.matched} total`);
  w(`Ignoreregex: ${summary.ignored} total`);
  if (filter.dates) w(`Date template hits: ${filter.datepattern ? `datepattern ${filter.datepattern}` : 'default templates'}`);
  w('');
  w(`Lines: ${summary.lines} lines, ${summary.ignored} ignored, ${summary.matched} matched, ${summary.missed + summary.errors} missed`);
  if (summary.errors) w(`Errors: ${summary.errors} lines could not be judged (listed with the missed lines)`);
  if (opts.printAllMatched && matched.length) {
    w('');
    w(`|- Matched line(s):`);
    for (const m of matched) w(`|  ${m}`);
    w('`-');
  }
  if (opts.printAllMissed && missed.length) {
    w('');
    w(`|- Missed line(s):`);
    for (const m of missed) w(`|  ${m}`);
    w('`-');
  }
  return EXIT.OK;
}

function parseOptions(list: string[]): Record<string, string> {
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
  if (!Number.isFinite(n) || n < 0) throw new PortcullisError('PC_CONFIG_INVALID', `--now ${JSON.stringify(s)}: expected epoch seconds`);
  return Math.round(n * 1000);
}

function readInput(log: string): string[] {
  if (existsSync(log) && statSync(log).isFile()) {
    const text = readFileSync(log).toString('utf8');
    const lines = text.split('\n');
    if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    return lines;
  }
  return [log];
}

/** A filter name, a filter file, or a regex (anything with regex syntax or a <TAG>). */
function resolveFilter(spec: string, ignore: string | undefined, options: Record<string, string>, configDir: string, now: number): CompiledFilter {
  const jailOptions: Record<string, string> = ignore === undefined ? {} : { ignoreregex: readIgnore(ignore) };
  if (existsSync(spec) && statSync(spec).isFile()) {
    const dir = dirname(spec);
    const name = basename(spec).replace(/\.(conf|local)$/, '');
    // A file inside a fail2ban-style tree keeps its [INCLUDES] (common.conf beside it).
    if (basename(dir) === 'filter.d') return loadFilter({ configDir: dirname(dir), name, options, jailOptions, now });
    return withTree(name, readFileSync(spec, 'utf8'), dir, (root) => loadFilter({ configDir: root, name, options, jailOptions, now }));
  }
  if (/^[\w.@-]+$/.test(spec)) {
    // Without a config dir of the user's, built-in filters answer.
    const userDir = existsSync(configDir) ? { configDir } : {};
    return loadFilter({ ...userDir, name: spec, options, jailOptions, now });
  }
  const text = `[Definition]\nfailregex = ${spec.replace(/%/g, '%%')}\n`;
  return withTree('command-line', text, undefined, (root) => loadFilter({ configDir: root, name: 'command-line', options, jailOptions, now }));
}

function readIgnore(ignore: string): string {
  if (existsSync(ignore) && statSync(ignore).isFile()) {
    return readFileSync(ignore, 'utf8')
      .split('\n')
      .filter((l) => l.trim() && !l.trimStart().startsWith('#'))
      .join('\n');
  }
  return ignore;
}

/**
 * Runs the regular loader (includes, dates, tags) on a filter that is not in a filter.d: a
 * throw-away filter.d holds it, and the files it includes when they lie beside it.
 */
function withTree<T>(name: string, text: string, besideDir: string | undefined, fn: (root: string) => T): T {
  const root = mkdtempSync(join(tmpdir(), 'portcullis-regex-'));
  try {
    mkdirSync(join(root, 'filter.d'));
    writeFileSync(join(root, 'filter.d', `${name}.conf`), text);
    if (besideDir) {
      for (const inc of ['common.conf', 'common.local']) {
        if (existsSync(join(besideDir, inc))) writeFileSync(join(root, 'filter.d', inc), readFileSync(join(besideDir, inc)));
      }
    }
    return fn(root);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
