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
export { createEventStore, reservedStreamPrefix } from './event-store/event-store.js';
export { GroupCommitter } from './event-store/group-commit.js';
export type { GroupCommitSchedule } from './event-store/group-commit.js';

// Metering: exact decimals, 1-minute buckets, rule evaluation and the MeteringStore SPI (no I/O).
export type { CommitSignal } from './subscription/commit-signal.js';
export { createCommitSignal } from './subscription/commit-signal.js';
export type { StreamMatcher } from './subscription/stream-pattern.js';
export { compileStreamPattern, streamPatternLengthMax } from './subscription/stream-pattern.js';
export type {
  AbortSignalLike,
  AppendWaiter,
  SubscribeOptions,
  SubscriptionFilter,
  SubscriptionLog,
  SubscriptionMessage,
  SubscriptionStart,
} from './subscription/subscription.js';
export { matches as matchesSubscriptionFilter, subscribe } from './subscription/subscription.js';
export type {
  NamedSubscriptionFilter,
  NamedSubscriptionRecord,
  NamedSubscriptionRow,
} from './subscription/named-subscription.js';
export {
  assertNamedSubscriptionRecord,
  checkNamedSubscriptionName,
  isPositionAfter,
  namedSubscriptionFilterValueLengthMax,
  namedSubscriptionFilterValuesMax,
  namedSubscriptionListMax,
  namedSubscriptionNameLengthMax,
  namedSubscriptionNamePattern,
  namedSubscriptionReservedNames,
  namedSubscriptionFromRow,
  parseNamedSubscriptionName,
} from './subscription/named-subscription.js';
export type {
  NamedSubscriptionPut,
  NamedSubscriptionStore,
} from './subscription/named-subscription-store.js';
export { createInMemoryNamedSubscriptionStore } from './subscription/in-memory-named-subscription-store.js';
// Its own index lists every export once.
export * from './metering/index.js';

// API keys: key format, scopes and the ApiKeyStore SPI (no I/O; hashing and comparison live in the server).
export * from './api-keys/index.js';
