export { createBanStore, type BanStore, type BanStoreOptions } from './ban-store.js';
export type {
  BanRecord,
  FailureInput,
  FailureResult,
  JailStoreStatus,
  ManualBanInput,
  ManualBanResult,
  OffenceHistory,
  UnbanInput,
} from './types.js';
