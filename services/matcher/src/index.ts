export { startMatcher, compileJailFilters } from './matcher.js';
export * from './filter/index.js';
