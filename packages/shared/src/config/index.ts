export type * from './types.js';
export { DEFAULT_SECTION, INCLUDES_SECTION, KNOWN_PREFIX, mergeIni, newSection, optionKey, parseIni } from './ini.js';
export { configStackFiles, readConfigStack, type ConfigStack } from './config-stack.js';
export {
  interpolate,
  MAX_INTERPOLATION_DEPTH,
  resolveOption,
  resolveSection,
  sectionLookup,
  type InterpolationContext,
  type Lookup,
  type LookupResult,
  type ResolveOptions,
} from './interpolation.js';
export { parseDuration } from './times.js';
export { parseNamedOption, parseNamedOptionList, splitNamedOptions, type NamedOptionContext } from './named-options.js';
export { parseBool, splitWords } from './values.js';
export { buildJail, JAIL_DEFAULTS, jailNames, NON_JAIL_SECTIONS } from './jail.js';
export { buildSettings, FIREWALLS, LOG_LEVELS, SETTINGS_SECTION } from './settings.js';
export { FAIL2BAN_COMPAT_VERSION, loadConfig, type LoadConfigOptions } from './load-config.js';
export { isRecidiveJail, recidiveJails } from './recidive.js';
