// Which jails are recidive-like is config knowledge (the collector and matcher skip them too).
export { isRecidiveJail, recidiveJails } from '@portcullis/shared';
