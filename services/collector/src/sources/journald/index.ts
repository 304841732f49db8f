import type { SourceFactory } from '../source.js';
import { createJournaldSource, type JournaldSourceOptions } from './journald-source.js';

export { createJournaldSource, type JournaldSourceOptions, type JournalLocation, type JournalStream } from './journald-source.js';
export { journalStreams } from './config.js';
export { journalmatchArgs } from './journalmatch.js';
export { formatJournalEntry } from './journal-entry.js';

export const journaldSourceFactory: SourceFactory<JournaldSourceOptions> = createJournaldSource;
