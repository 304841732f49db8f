import type { SourceFactory } from '../source.js';
import { createFileSource, type FileSourceOptions } from './file-source.js';

export { createFileSource, type FileSourceOptions } from './file-source.js';
export type { FilePattern } from './discovery.js';

export const fileSourceFactory: SourceFactory<FileSourceOptions> = createFileSource;
