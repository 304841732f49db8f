import {
  DEFAULT_SECTION,
  INCLUDES_SECTION,
  KNOWN_PREFIX,
  isPortcullisError,
  parseDuration,
  PortcullisError,
  readConfigStack,
  resolveOption,
  type ConfigStack,
  type JailConfig,
  type NamedOptions,
  type SourceRef,
} from '@portcullis/shared';
import { CONDITIONAL_KEY_RE, ESCAPED_TAGS, substituteRecursiveTags } from './tags.js';

/** The operations fail2ban's ActionReader reads from [Definition] (its `_configOpts`). */
export const OPERATION_KEYS = [
  'actionstart',
  'actionstart_on_demand',
  'actionstop',
  'actionflush',
  'actionreload',
  'actioncheck',
  'actionrepair',
  'actionrepair_on_unban',
  'actionban',
  'actionprolong',
  'actionreban',
  'actionunban',
  'norestored',
] as const;

export const DEFAULT_ACTION_TIMEOUT_SEC = 60;
const ACTION_NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** One `action = name[...]` entry of a jail, read from action.d the way fail2ban reads it. */
export interface CommandActionDefinition {
  /** The action.d file name, e.g. `hostsdeny`. */
  file: string;
  /** fail2ban's actname: the file name, made unique in the jail when `name` differs from the jail's. */
  name: string;
  jail: string;
  /**
   * The tags commands see (fail2ban's action properties): the operations with %(x)s interpolated
   * and configuration tags replaced, then the [Init] values, with the jail's `[key=value]` on top.
   */
  properties: Readonly<Record<string, string>>;
  /** Seconds one command may run (fail2ban's `timeout`, default 60). */
  timeoutSec: number;
  /** The jail's bantime (-1 = permanent), for `<bantime>` in commands that run without a ban. */
  jailBantime: number;
  /** The files read, in order, for messages. */
  files: readonly string[];
  /** Where the jail's `action =` line is. */
  ref: SourceRef;
}

/** The action.d files fail2ban would read for `name` (empty when there are none). */
export function actionFiles(configDir: string, name: string): ConfigStack | undefined {
  if (!ACTION_NAME_RE.test(name)) return undefined;
  const stack = readConfigStack(configDir, `action.d/${name}`);
  return stack.files.length > 0 ? stack : undefined;
}

/**
 * fail2ban's ActionReader + DefinitionInitConfigReader: `name` defaults to the jail's name,
 * [Definition] operations are interpolated with the jail's options and the action's arguments as
 * configparser `vars`, [Init] values (and `known/` copies) fill in what the arguments do not
 * give, and configuration tags are substituted once, leaving family-conditional ones, `timeout`,
 * `bantime` and the log-content tags for run time.
 */
export function loadCommandAction(configDir: string, jail: JailConfig, action: NamedOptions, stack?: ConfigStack): CommandActionDefinition {
  const ref = jail.ref;
  const read = stack ?? actionFiles(configDir, action.name);
  if (!read) {
    throw new PortcullisError('PC_CONFIG_INVALID', `jail [${jail.name}]: action "${action.name}" not found (looked for ${configDir}/action.d/${action.name}.conf and .local)`, {
      location: ref,
    });
  }
  const sections = read.sections;
  const init = new Map<string, string>(Object.entries(action.options));
  const name = init.get('name') ?? jail.name;
  init.set('name', name);
  let actname = init.get('actname');
  if (actname === undefined) {
    actname = action.name + (name === jail.name ? '' : name.startsWith(jail.name) ? name.slice(jail.name.length) : `-${name}`);
    init.set('actname', actname);
  }
  const inContext = <T>(what: string, run: () => T): T => {
    try {
      return run();
    } catch (e) {
      if (!isPortcullisError(e)) throw e;
      throw new PortcullisError(e.code, `jail [${jail.name}] action ${action.name}: ${what}: ${e.message}`, { cause: e, location: e.location ?? ref });
    }
  };
  // configparser vars: the jail's options, the action's arguments winning.
  const vars = { ...jail.options, ...Object.fromEntries(init) };

  const operations = new Map<string, string>();
  for (const key of OPERATION_KEYS) {
    const v = inContext(`[Definition] ${key}`, () => resolveOption(sections, 'Definition', key, vars));
    if (v !== undefined) operations.set(key, v);
  }
  for (const [key] of sections.get('Init') ?? []) {
    const v = inContext(`[Init] ${key}`, () => resolveOption(sections, 'Init', key) ?? '');
    if (!key.startsWith('known/')) init.set(`known/${key}`, v);
    if (!init.has(key)) init.set(key, v);
  }
  const combined = new Map([...operations, ...init]);
  const definitions = definitionLookup(sections, vars);
  const ignore = new Set([...ESCAPED_TAGS, 'timeout', 'bantime']);
  for (const key of combined.keys()) {
    const cond = CONDITIONAL_KEY_RE.exec(key);
    if (cond) ignore.add(cond[1]!);
  }
  const substituted = inContext('tags', () => substituteRecursiveTags(combined, '', ignore, definitions));
  // fail2ban sends the operations substituted and the other values as read: their tags are
  // replaced when a command runs, where the address family is known.
  const properties = new Map(init);
  for (const key of operations.keys()) properties.set(key, substituted.get(key) ?? '');
  const timeoutText = properties.get('timeout');
  const timeoutSec = timeoutText === undefined ? DEFAULT_ACTION_TIMEOUT_SEC : inContext('timeout', () => parseDuration(timeoutText, ref, 'timeout'));
  if (!(timeoutSec > 0)) {
    throw new PortcullisError('PC_CONFIG_INVALID', `jail [${jail.name}] action ${action.name}: timeout must be longer than zero, got ${JSON.stringify(timeoutText)}`, {
      location: ref,
    });
  }
  properties.set('timeout', String(timeoutSec));
  // fail2ban ignores a configured bantime: <bantime> is always the ban's own.
  properties.delete('bantime');
  return {
    file: action.name,
    name: actname,
    jail: jail.name,
    properties: Object.freeze(Object.fromEntries(properties)),
    timeoutSec,
    jailBantime: jail.bantime,
    files: read.files,
    ref,
  };
}

/**
 * fail2ban's getCombOption: a tag that is no property may name another [Definition] option
 * (interpolated with the jail's vars), `section/option` of any section, or `known/option`.
 */
function definitionLookup(sections: ConfigStack['sections'], vars: Record<string, string>): (tag: string) => string | undefined {
  const cache = new Map<string, string | undefined>();
  const resolve = (section: string, option: string, extra: Record<string, string> = {}): string | undefined => {
    try {
      return resolveOption(sections, section, option, extra);
    } catch (e) {
      // Definitions are read on demand in fail2ban: one that cannot be interpolated is simply absent.
      if (isPortcullisError(e, 'PC_CONFIG_INTERPOLATION')) return undefined;
      throw e;
    }
  };
  return (tag) => {
    if (cache.has(tag)) return cache.get(tag);
    let value: string | undefined;
    const slash = /^([\w-]+)\/(.+)$/.exec(tag);
    if (slash) {
      const [, sec, opt] = slash as unknown as [string, string, string];
      const lower = sec.toLowerCase();
      if (lower === 'known') value = resolve(KNOWN_PREFIX + 'Definition', opt) ?? resolve('Definition', opt);
      else if (lower === 'default') value = resolve(DEFAULT_SECTION, opt);
      else if (sec !== INCLUDES_SECTION && sections.has(sec)) value = resolve(sec, opt);
    }
    value ??= resolve('Definition', tag, vars);
    cache.set(tag, value);
    return value;
  };
}
