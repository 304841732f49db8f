export { BUILTIN_FILTER_DIR, loadFilter, type LoadFilterOptions } from './load-filter.js';
export { CompiledFilter, MAX_LINE_LENGTH, type FilterStats, type MatchContext, type MatchResult } from './matcher.js';
export { translatePattern, extractGroups, TranslateError, type TranslatedRegex, type TranslateOptions } from './translate.js';
export { createUnicodeTables, type UnicodeTables } from './regex/charset.js';
export { resolveTags, IP4_RE, IP6_RE } from './tags.js';
export { combineFilterOptions, substituteTags, type FilterDefinition } from './filter-options.js';
export { DateDetector, type DateHit } from '../dates/detector.js';
export { buildTemplate, defaultTemplates, templatesFor, type DateTemplate } from '../dates/templates.js';
export { fieldsToEpochMs, zoneOffsetMinutes } from '../dates/strptime.js';
