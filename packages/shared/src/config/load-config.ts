import { statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PortcullisError } from '../errors.js';
import { readConfigStack } from './config-stack.js';
import { DEFAULT_SECTION, newSection } from './ini.js';
import { BUILT_IN_FILE, buildJail, JAIL_DEFAULTS, jailNames } from './jail.js';
import { buildSettings } from './settings.js';
import type { IniSection, IniSections, PortcullisConfig } from './types.js';

/** The fail2ban release whose configuration format Portcullis reads; `%(fail2ban_version)s` gives it. */
export const FAIL2BAN_COMPAT_VERSION = '1.0.2';

export interface LoadConfigOptions {
  /** Host name when portcullis.conf sets none; defaults to os.hostname(). */
  hostName?: string;
}

/**
 * Reads a directory laid out like /etc/fail2ban: the jail stack (jail.conf, jail.d/*.conf,
 * jail.local, jail.d/*.local with their includes) and the portcullis stack (portcullis.conf,
 * portcullis.d/*.conf, portcullis.local, ...). The result is deeply frozen.
 */
export function loadConfig(dir: string, opts: LoadConfigOptions = {}): PortcullisConfig {
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    isDir = false;
  }
  if (!isDir) {
    throw new PortcullisError('PC_CONFIG_NOT_FOUND', `configuration directory ${dir} does not exist or is not a directory`, { location: { file: dir } });
  }

  const jailStack = readConfigStack(dir, 'jail');
  if (jailStack.files.length === 0) {
    throw new PortcullisError(
      'PC_CONFIG_NOT_FOUND',
      `no jail configuration in ${dir}: expected jail.conf, jail.local or jail.d/*.conf / *.local (an /etc/fail2ban-style directory)`,
      { location: { file: dir } },
    );
  }
  const settingsStack = readConfigStack(dir, 'portcullis');
  const settings = buildSettings(settingsStack.sections, opts.hostName ?? os.hostname());

  const sections = withJailDefaults(jailStack.sections, dir, settings.firewall);
  const jails = jailNames(sections).map((name) => buildJail(sections, name));

  return deepFreeze({ dir: path.resolve(dir), settings, jails });
}

/**
 * A copy of the sections whose [DEFAULT] sits on top of JAIL_DEFAULTS, with fail2ban's own
 * injected values (fail2ban_version, fail2ban_confpath) on top of the file's values, as fail2ban's
 * JailReader merges them.
 */
function withJailDefaults(sections: IniSections, dir: string, firewall: string): IniSections {
  const builtIn = { file: BUILT_IN_FILE, line: 0 };
  const defaults: IniSection = newSection(sections.get(DEFAULT_SECTION)?.ref);
  for (const [key, value] of Object.entries(JAIL_DEFAULTS)) defaults.set(key, { value, ref: builtIn });
  // `firewall = iptables` in [portcullis] changes the built-in default actions too, so a jail that
  // names no banaction follows it (a banaction set in the files still wins).
  if (firewall === 'iptables') {
    defaults.set('banaction', { value: 'iptables-multiport', ref: builtIn });
    defaults.set('banaction_allports', { value: 'iptables-allports', ref: builtIn });
  }
  for (const [key, entry] of sections.get(DEFAULT_SECTION) ?? []) defaults.set(key, entry);
  defaults.set('fail2ban_version', { value: FAIL2BAN_COMPAT_VERSION, ref: builtIn });
  // `%` in a directory name must not read as a reference.
  defaults.set('fail2ban_confpath', { value: dir.replace(/\/+$/, '').replaceAll('%', '%%'), ref: builtIn });
  const copy: IniSections = new Map(sections);
  copy.set(DEFAULT_SECTION, defaults);
  return copy;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
