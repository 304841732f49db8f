export { startCollector, filePatterns, type CollectorOptions } from './collector.js';
export type { LogSource, SourceChunk, ChunkSink } from './sources/source.js';
