import { isPortcullisError, PortcullisError } from '../errors.js';
import { DEFAULT_SECTION, INCLUDES_SECTION, KNOWN_PREFIX } from './ini.js';
import { interpolate, resolveSection, sectionLookup } from './interpolation.js';
import { parseNamedOption, parseNamedOptionList } from './named-options.js';
import { parseDuration } from './times.js';
import type { IniSections, JailConfig, NamedOptions, SourceRef } from './types.js';
import {
  checkBackend,
  checkIgnoreEntry,
  checkPort,
  checkProtocol,
  invalid,
  isSystemdBackend,
  parseBool,
  parsePositiveInt,
  splitWords,
} from './values.js';

/**
 * Values a jail gets when neither its section nor [DEFAULT] sets them. They sit below [DEFAULT],
 * so `%(port)s` and friends resolve even in a one-file jail.local without a [DEFAULT].
 */
export const JAIL_DEFAULTS: Readonly<Record<string, string>> = {
  enabled: 'false',
  filter: '%(__name__)s',
  logpath: '',
  backend: 'auto',
  journalmatch: '',
  maxretry: '5',
  findtime: '10m',
  bantime: '10m',
  ignoreip: '',
  ignoreself: 'true',
  port: '0:65535',
  protocol: 'tcp',
  banaction: 'nftables-multiport',
  banaction_allports: 'nftables-allports',
  action: '%(banaction)s[name=%(__name__)s, port="%(port)s", protocol="%(protocol)s"]',
  fromstart: 'false',
  // Portcullis: count this jail's bans from other jails' ban decisions (filter = recidive implies it).
  recidive: '',
};

/** The `file` of refs for JAIL_DEFAULTS entries; errors about them point at the jail's section instead. */
export const BUILT_IN_FILE = '<built-in default>';

/** Sections of jail files that are not jails. */
export const NON_JAIL_SECTIONS: ReadonlySet<string> = new Set([DEFAULT_SECTION, INCLUDES_SECTION, 'Definition', 'Init']);

export function jailNames(sections: IniSections): string[] {
  return [...sections.keys()].filter((n) => !NON_JAIL_SECTIONS.has(n) && !n.startsWith(KNOWN_PREFIX));
}

const JAIL_NAME_RE = /^[A-Za-z0-9_.-]+$/;

interface Value {
  text: string;
  ref: SourceRef;
}

/**
 * One jail after [DEFAULT] inheritance and interpolation, validated. `sections` must already hold
 * JAIL_DEFAULTS in [DEFAULT] (see loadConfig). An enabled jail with a bad value throws; a disabled
 * one keeps defaults for the bad fields and says why in `configError`, as fail2ban does not even
 * read a disabled jail's options.
 */
export function buildJail(sections: IniSections, name: string): JailConfig {
  const section = sections.get(name);
  const lookup = sectionLookup(sections, name);
  const read = (key: string): Value => {
    const entry = section?.get(key) ?? sections.get(DEFAULT_SECTION)?.get(key);
    if (!entry) throw new PortcullisError('PC_INTERNAL', `no value or default for ${key} in jail [${name}]`);
    const text = interpolate(entry.value, lookup, entry.ref, { option: key, section: name });
    return { text, ref: entry.ref.file === BUILT_IN_FILE && section?.ref ? section.ref : entry.ref };
  };

  const enabledValue = inJail(name, () => read('enabled'));
  const enabled = inJail(name, () => parseBool('enabled', enabledValue.text, enabledValue.ref));
  let configError: string | undefined;
  const field = <T>(parse: () => T, fallback: T): T => {
    try {
      return inJail(name, parse);
    } catch (e) {
      if (enabled || !isPortcullisError(e)) throw e;
      configError ??= e.message;
      return fallback;
    }
  };

  if (enabled && !JAIL_NAME_RE.test(name)) {
    throw new PortcullisError('PC_CONFIG_INVALID', `jail name [${name}] may contain only letters, digits, ".", "_" and "-"`, {
      location: section?.ref ?? enabledValue.ref,
    });
  }

  const filter = field((): NamedOptions => {
    const v = read('filter');
    return v.text.trim() === '' ? { name: '', options: {} } : parseNamedOption(v.text, { what: 'filter', ref: v.ref });
  }, { name, options: {} });
  const backend = field(() => {
    const v = read('backend');
    checkBackend(v.text, v.ref);
    return v.text.trim();
  }, 'auto');
  const logpath = field(() => parseLogpath(read('logpath')), { paths: [], start: {} });
  field(() => {
    // A recidive jail is fed by the banner's own ban decisions, not by a log file.
    const recidive = filter.name === 'recidive' || /^(1|true|yes|on)$/i.test(read('recidive').text.trim());
    if (enabled && logpath.paths.length === 0 && !isSystemdBackend(backend) && !recidive) {
      const v = read('logpath');
      throw invalid(v.ref, `logpath is empty: set logpath = /path/to/log (globs allowed) or backend = systemd`);
    }
  }, undefined);
  const maxretry = field(() => {
    const v = read('maxretry');
    return parsePositiveInt('maxretry', v.text, v.ref);
  }, 5);
  const findtime = field(() => positiveDuration('findtime', read('findtime')), 600);
  const bantime = field(() => banTime(read('bantime')), 600);
  const ignoreip = field(() => {
    const v = read('ignoreip');
    const entries = splitWords(v.text);
    for (const e of entries) checkIgnoreEntry(e, v.ref);
    return entries;
  }, []);
  const ignoreself = field(() => {
    const v = read('ignoreself');
    return parseBool('ignoreself', v.text, v.ref);
  }, true);
  const port = field(() => {
    const v = read('port');
    checkPort(v.text, v.ref);
    return v.text.trim();
  }, JAIL_DEFAULTS['port'] as string);
  const protocol = field(() => {
    const v = read('protocol');
    checkProtocol(v.text, v.ref);
    return v.text.trim();
  }, 'tcp');
  const banaction = field(() => actionName('banaction', read('banaction')), JAIL_DEFAULTS['banaction'] as string);
  const banactionAllports = field(
    () => actionName('banaction_allports', read('banaction_allports')),
    JAIL_DEFAULTS['banaction_allports'] as string,
  );
  const actions = field(() => {
    const v = read('action');
    return parseNamedOptionList(v.text, { what: 'action', ref: v.ref });
  }, []);
  const fromStart = field(() => {
    const v = read('fromstart');
    return parseBool('fromstart', v.text, v.ref);
  }, false);
  const journalmatch = field(() => read('journalmatch').text, '');
  const options = resolveSection(sections, name, {}, { skipUnresolvable: true });

  const jail: JailConfig = {
    name,
    enabled,
    filter,
    logpath: logpath.paths,
    backend,
    journalmatch,
    maxretry,
    findtime,
    bantime,
    ignoreip,
    ignoreself,
    port,
    protocol,
    banaction,
    banactionAllports,
    actions,
    fromStart,
    options,
    ref: section?.ref ?? enabledValue.ref,
  };
  if (Object.keys(logpath.start).length > 0) jail.logpathStart = logpath.start;
  if (configError !== undefined) jail.configError = configError;
  return jail;
}

/** Adds the jail's name to a configuration error (the value may come from [DEFAULT]). */
function inJail<T>(name: string, run: () => T): T {
  try {
    return run();
  } catch (e) {
    if (!isPortcullisError(e) || e.code === 'PC_INTERNAL') throw e;
    const loc = e.location;
    const prefix = loc?.file ? (loc.line === undefined ? `${loc.file}: ` : `${loc.file}:${loc.line}: `) : '';
    const reason = prefix && e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message;
    throw new PortcullisError(e.code, `${reason} (jail [${name}])`, { location: loc ?? {}, cause: e.cause });
  }
}

/**
 * Paths separated by white space or new lines; fail2ban lets a path be followed by `head` or
 * `tail` (where to start reading it).
 */
function parseLogpath(v: Value): { paths: string[]; start: Record<string, 'head' | 'tail'> } {
  const paths: string[] = [];
  const start: Record<string, 'head' | 'tail'> = {};
  for (const word of v.text.split(/\s+/).filter((w) => w !== '')) {
    const last = paths[paths.length - 1];
    if ((word === 'head' || word === 'tail') && last !== undefined) {
      start[last] = word;
      continue;
    }
    if (!word.startsWith('/')) {
      throw invalid(v.ref, `logpath entry ${JSON.stringify(word)} is not an absolute path: write it from /, e.g. /var/log/auth.log`);
    }
    paths.push(word);
  }
  return { paths, start };
}

function positiveDuration(key: string, v: Value): number {
  const seconds = parseDuration(v.text, v.ref, key);
  if (seconds <= 0) throw invalid(v.ref, `${key} must be longer than zero, got ${JSON.stringify(v.text)}`);
  return seconds;
}

function banTime(v: Value): number {
  const seconds = parseDuration(v.text, v.ref, 'bantime');
  if (seconds < 0) return -1;
  if (seconds === 0) throw invalid(v.ref, `bantime must be longer than zero, or negative (-1) for a permanent ban, got ${JSON.stringify(v.text)}`);
  return seconds;
}

function actionName(key: string, v: Value): string {
  const text = v.text.trim();
  if (text === '') throw invalid(v.ref, `${key} is empty: name an action from action.d, e.g. nftables-multiport`);
  return text;
}
