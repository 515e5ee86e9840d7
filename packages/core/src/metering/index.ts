export type { DecimalString } from './decimal.js';
export {
  addDecimal,
  compareDecimal,
  decimalInputLengthMax,
  maxDecimal,
  minDecimal,
  parseDecimal,
  parseStoredDecimal,
} from './decimal.js';
export type { MeteringGranularity, TimeWindow } from './buckets.js';
export {
  bucketStartOf,
  bucketWidthMs,
  ceilToUnit,
  floorToUnit,
  formatUtcTimestamp,
  meteringGranularities,
  windowOf,
} from './buckets.js';
export type { MeteringOperator, MeteringRule } from './rule-evaluation.js';
export { lookupField, ruleValue } from './rule-evaluation.js';
export type {
  BucketAggregate,
  BucketDelta,
  FoldableEvent,
  StoredBucket,
  SweepFold,
} from './bucket-fold.js';
export {
  foldSweepEvents,
  mergeAggregate,
  principalOfStream,
  principalStream,
  principalStreamPrefix,
} from './bucket-fold.js';
export type {
  BucketListing,
  BucketSelection,
  MeteringStore,
  OwnedBucket,
  OwnedRollup,
  RuleReplacement,
  StateReadQuery,
  StateSnapshot,
  SweepLockResult,
  SweepStep,
  TailEvent,
} from './metering-store.js';
export {
  assertSweepStep,
  meteringCheckpointName,
  occurredInRange,
  rebuildStagingName,
  tailEventsMaxDefault,
  tailPageEventsDefault,
  tailTooLargeError,
} from './metering-store.js';
export type { BucketRead, RollupDelta } from './rollups.js';
export {
  dayRollupWidthMs,
  hourRollupWidthMs,
  planBucketReads,
  rollUpDeltas,
  rollupWidthsMs,
} from './rollups.js';
export type { StateWindowValue } from './state-windows.js';
export { computeStateWindows } from './state-windows.js';
export type { InMemoryMeteringStoreOptions } from './in-memory-metering-store.js';
export { createInMemoryMeteringStore } from './in-memory-metering-store.js';
