export { createBanStore, type BanStore, type BanStoreOptions, type BulkBanOutcome } from './ban-store.js';
export { globalKeys, type GlobalKeys } from './keys.js';
export { readTrusted } from './trust-ops.js';
export type {
  BanEnd,
  BanRecord,
  BatchFailure,
  Escalation,
  FailureBatchInput,
  FailureBatchResult,
  FailureInput,
  FailureResult,
  JailStoreStatus,
  ManualBanInput,
  ManualBanResult,
  OffenceHistory,
  RecidiveTarget,
  TrustAndUnbanResult,
  TrustedEntry,
  TrustGate,
  TrustInput,
  UnbanInput,
} from './types.js';
