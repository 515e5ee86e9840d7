export type { Clock } from './clock.js';
export { createManualClock, formatTimestamp } from './clock.js';
export type { Random } from './random.js';
export { createSeededRandom, randomUuid } from './random.js';
export type { Limits } from './limits.js';
export { createLimits, defaultLimits } from './limits.js';
export { AssertionError, assert } from './internal/assert.js';
export type { ErrorCode, ErrorDetailsByCode } from './errors/error-codes.js';
export { errorCodes } from './errors/error-codes.js';
export { AevonError, invalidRequest, isAevonError } from './errors/aevon-error.js';
export type {
  EventData,
  EventId,
  ExpectedRevision,
  GlobalPosition,
  JsonValue,
  PendingEvent,
  PreparedEvent,
  RecordedEvent,
  StreamId,
  StreamInfo,
  StreamRevision,
} from './event/event.js';
export { asGlobalPosition, formatExpected, recordEvent } from './event/event.js';
export type { Direction, Range, RangeInput } from './event/range.js';
export { inRange, normalizeRange, selectRange } from './event/range.js';
export {
  checkExpectedRevision,
  checkName,
  checkPayload,
  isPlainObject,
  isWellFormedText,
  parseTimestamp,
  utf8ByteLength,
} from './event/validation.js';
export type {
  AppendBatch,
  AppendOutcome,
  AppendResult,
  Storage,
  StorageCapabilities,
  StreamAppend,
  StreamAppendResult,
} from './storage/storage.js';
export { checkExpected } from './storage/expectation.js';
export {
  createInMemoryStorage,
  duplicateError,
  formatSequencePosition,
} from './storage/in-memory-storage.js';
export type {
  EventStore,
  EventStoreOptions,
  ReadForAppendResult,
  ReadInput,
  StreamAppendInput,
} from './event-store/event-store.js';
export { createEventStore } from './event-store/event-store.js';
export { GroupCommitter } from './event-store/group-commit.js';
export type { GroupCommitSchedule } from './event-store/group-commit.js';

// Metering: exact decimals, 1-minute buckets, rule evaluation and the MeteringStore SPI (no I/O).
export type { DecimalString } from './metering/index.js';
export {
  addDecimal,
  compareDecimal,
  decimalInputLengthMax,
  maxDecimal,
  minDecimal,
  parseDecimal,
} from './metering/index.js';
export type { MeteringGranularity, TimeWindow } from './metering/index.js';
export {
  bucketStartOf,
  bucketWidthMs,
  ceilToUnit,
  floorToUnit,
  formatUtcTimestamp,
  meteringGranularities,
  windowOf,
} from './metering/index.js';
export type { MeteringOperator, MeteringRule } from './metering/index.js';
export { lookupField, ruleValue } from './metering/index.js';
export type {
  BucketAggregate,
  BucketDelta,
  FoldableEvent,
  StoredBucket,
  SweepFold,
} from './metering/index.js';
export {
  foldSweepEvents,
  mergeAggregate,
  principalOfStream,
  principalStream,
  principalStreamPrefix,
} from './metering/index.js';
export type {
  MeteringStore,
  StateReadQuery,
  StateSnapshot,
  SweepLockResult,
  SweepStep,
  TailEvent,
} from './metering/index.js';
export {
  assertSweepStep,
  meteringCheckpointName,
  occurredInRange,
  tailEventsMaxDefault,
  tailPageEventsDefault,
  tailTooLargeError,
} from './metering/index.js';
export type { StateWindowValue } from './metering/index.js';
export { computeStateWindows } from './metering/index.js';
export type { InMemoryMeteringStoreOptions } from './metering/index.js';
export { createInMemoryMeteringStore } from './metering/index.js';
