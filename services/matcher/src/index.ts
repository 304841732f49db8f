export { startMatcher, compileJailFilters, sourceKey, type MatcherOptions, type MatcherService } from './matcher.js';
export { DEFAULT_PARTITIONS, PARTITION_STREAM, partitionOf, partitionSubject } from './partitions.js';
export { RedisStateStore, type StateStore } from './state-store.js';
export * from './filter/index.js';
