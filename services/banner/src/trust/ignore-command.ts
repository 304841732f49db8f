import { spawn } from 'node:child_process';
import { describeError, PortcullisError, type Clock, type SourceRef } from '@portcullis/shared';
import { ipFamily, normalizeIp } from './normalize-ip.js';

/**
 * fail2ban's `ignorecommand`: a command run for an address, with `<ip>` replaced by it; exit 0
 * means "ignore this address", 1 means "do not", anything else (or a timeout) is an error and the
 * address is not ignored, as in fail2ban.
 *
 * The address never becomes shell text. A command without shell syntax is split into words here
 * and run directly, `<ip>` substituted inside its words after validation. A command that needs a
 * shell (pipes, redirections, `$`, `;` ...) runs as `sh -c SCRIPT portcullis-ignorecommand IP
 * FAMILY`, with each `<ip>` in the script replaced by the quoted positional parameter "$1" (and
 * `<family>` by "$2"), so the shell expands the address as one word and never parses it.
 */
export interface IgnoreCommandSpec {
  text: string;
  mode: 'exec' | 'shell';
  /** exec: argv with tags still in place; shell: ['/bin/sh', '-c', script]. */
  argv: readonly string[];
}

export interface IgnoreVerdict {
  ignored: boolean;
  /** The command did not answer 0 or 1 (exit code, signal, timeout, not found). */
  error?: PortcullisError;
}

export interface IgnoreCommandOptions {
  clock: Clock;
  /** Default 10 s; the process group is killed after it. */
  timeoutMs?: number;
  /** How long an answer is reused for the same address. Default 60 s (errors: at most 5 s). */
  cacheTtlMs?: number;
  /** Bound of the answer cache. Default 10,000 addresses. */
  cacheMax?: number;
  /** Commands running at once. Default 8. */
  concurrency?: number;
  /** Where the option was set, for errors. */
  ref?: SourceRef;
}

export interface IgnoreCommand {
  readonly spec: IgnoreCommandSpec;
  check(ip: string): Promise<IgnoreVerdict>;
}

const TAG = /<([A-Za-z][\w-]*)>/g;
const KNOWN_TAGS = new Set(['ip', 'family']);
/** Characters that mean the command needs a shell. */
const SHELL_SYNTAX = /[|&;<>()$`*?[\]{}~!#\n\r]/;
const ERROR_CACHE_MS = 5_000;

export function parseIgnoreCommand(text: string, ref?: SourceRef): IgnoreCommandSpec {
  const bad = (why: string): PortcullisError =>
    new PortcullisError('PC_CONFIG_INVALID', `ignorecommand ${JSON.stringify(text.slice(0, 200))}: ${why}`, ref ? { location: ref } : {});
  const src = text.trim();
  if (src === '') throw bad('is empty');
  for (const m of src.matchAll(TAG)) {
    if (!KNOWN_TAGS.has(m[1] ?? '')) throw bad(`unknown tag <${m[1]}>; supported: <ip>, <family>`);
  }
  const withoutTags = src.replace(TAG, '');
  const firstWord = withoutTags.trimStart().split(/\s/)[0] ?? '';
  if (SHELL_SYNTAX.test(withoutTags) || /^\w+=/.test(firstWord)) {
    return { text: src, mode: 'shell', argv: ['/bin/sh', '-c', shellScript(src, bad)] };
  }
  const words = splitWords(src, bad);
  if (words.length === 0) throw bad('names no command');
  return { text: src, mode: 'exec', argv: words };
}

/** Replaces each tag by a quoted positional parameter, refusing a tag inside single quotes. */
function shellScript(src: string, bad: (why: string) => PortcullisError): string {
  let out = '';
  let quote: "'" | '"' | null = null;
  for (let i = 0; i < src.length; i++) {
    const c = src[i] as string;
    if (c === '\\' && quote !== "'") {
      out += c + (src[i + 1] ?? '');
      i++;
      continue;
    }
    if (quote === null && (c === "'" || c === '"')) quote = c;
    else if (c === quote) quote = null;
    const tag = /^<(ip|family)>/.exec(src.slice(i));
    if (tag) {
      if (quote === "'") throw bad(`<${tag[1]}> inside single quotes would not be replaced by the address; remove the quotes around it`);
      const param = tag[1] === 'ip' ? '$1' : '$2';
      out += quote === '"' ? param : `"${param}"`;
      i += tag[0].length - 1;
      continue;
    }
    out += c;
  }
  if (quote !== null) throw bad(`unterminated ${quote} quote`);
  return out;
}

/** POSIX-like word splitting without expansions: quotes and backslashes group and escape. */
function splitWords(src: string, bad: (why: string) => PortcullisError): string[] {
  const words: string[] = [];
  // null between words; '' for a word that is only quotes ("")
  let cur: string | null = null;
  let quote: "'" | '"' | null = null;
  for (let i = 0; i < src.length; i++) {
    const c = src[i] as string;
    if (quote === "'") {
      if (c === "'") quote = null;
      else cur = (cur ?? '') + c;
    } else if (quote === '"') {
      if (c === '"') quote = null;
      else if (c === '\\' && (src[i + 1] === '"' || src[i + 1] === '\\')) cur = (cur ?? '') + (src[++i] ?? '');
      else cur = (cur ?? '') + c;
    } else if (/\s/.test(c)) {
      if (cur !== null) words.push(cur);
      cur = null;
    } else if (c === "'" || c === '"') {
      quote = c;
      cur ??= '';
    } else if (c === '\\') {
      cur = (cur ?? '') + (src[++i] ?? '');
    } else {
      cur = (cur ?? '') + c;
    }
  }
  if (quote !== null) throw bad(`unterminated ${quote} quote`);
  if (cur !== null) words.push(cur);
  return words;
}

export function createIgnoreCommand(text: string, opts: IgnoreCommandOptions): IgnoreCommand {
  const spec = parseIgnoreCommand(text, opts.ref);
  const timeoutMs = positive(opts.timeoutMs ?? 10_000, 'ignorecommand timeout');
  const cacheTtlMs = positive(opts.cacheTtlMs ?? 60_000, 'ignorecommand cache lifetime');
  const cacheMax = positive(opts.cacheMax ?? 10_000, 'ignorecommand cache size');
  const concurrency = positive(opts.concurrency ?? 8, 'ignorecommand concurrency');
  const cache = new Map<string, { verdict: IgnoreVerdict; expires: number }>();
  const inFlight = new Map<string, Promise<IgnoreVerdict>>();
  const waiting: (() => void)[] = [];
  let active = 0;

  async function slot<T>(fn: () => Promise<T>): Promise<T> {
    if (active >= concurrency) await new Promise<void>((r) => waiting.push(r));
    active++;
    try {
      return await fn();
    } finally {
      active--;
      waiting.shift()?.();
    }
  }

  function argvFor(ip: string): string[] {
    const family = ipFamily(ip) === 'ipv6' ? 'inet6' : 'inet4';
    if (spec.mode === 'shell') return [...spec.argv, 'portcullis-ignorecommand', ip, family];
    return spec.argv.map((w) => w.replace(TAG, (_, tag: string) => (tag === 'ip' ? ip : family)));
  }

  async function run(ip: string): Promise<IgnoreVerdict> {
    const [file, ...args] = argvFor(ip) as [string, ...string[]];
    const fail = (why: string, cause?: unknown, code: 'PC_TIMEOUT' | 'PC_CONFIG_INVALID' = 'PC_CONFIG_INVALID'): IgnoreVerdict => ({
      ignored: false,
      error: new PortcullisError(code, `ignorecommand for ${ip} ${why}`, { ...(opts.ref ? { location: opts.ref } : {}), ...(cause ? { cause } : {}) }),
    });
    return new Promise<IgnoreVerdict>((resolve) => {
      // its own process group, so a timeout also ends whatever the command started
      const child = spawn(file, args, { stdio: 'ignore', detached: true, shell: false });
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        killGroup(child.pid);
      }, timeoutMs);
      child.once('error', (e) => {
        clearTimeout(timer);
        resolve(fail(`could not run ${JSON.stringify(file)}: ${describeError(e)}`, e));
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        if (timedOut) resolve(fail(`did not finish within ${timeoutMs} ms and was killed`, undefined, 'PC_TIMEOUT'));
        else if (code === 0) resolve({ ignored: true });
        else if (code === 1) resolve({ ignored: false });
        else resolve(fail(signal ? `was ended by ${signal}` : `exited with ${code}; expected 0 (ignore) or 1 (do not ignore)`));
      });
    });
  }

  async function check(ipText: string): Promise<IgnoreVerdict> {
    const ip = normalizeIp(ipText);
    const now = opts.clock.now();
    const hit = cache.get(ip);
    if (hit && hit.expires > now) return hit.verdict;
    const pending = inFlight.get(ip);
    if (pending) return pending;
    const p = slot(() => run(ip)).then((verdict) => {
      cache.delete(ip);
      cache.set(ip, { verdict, expires: opts.clock.now() + (verdict.error ? Math.min(cacheTtlMs, ERROR_CACHE_MS) : cacheTtlMs) });
      // Map iteration is insertion order: the first key is the oldest answer
      while (cache.size > cacheMax) cache.delete(cache.keys().next().value as string);
      return verdict;
    });
    inFlight.set(ip, p);
    try {
      return await p;
    } finally {
      inFlight.delete(ip);
    }
  }

  return { spec, check };
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function positive(n: number, what: string): number {
  if (!Number.isFinite(n) || n <= 0) throw new PortcullisError('PC_CONFIG_INVALID', `${what} must be a positive number, got ${String(n)}`);
  return n;
}
