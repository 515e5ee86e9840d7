export type {
  BatchItemResult,
  Granularity,
  MeteringEngine,
  MeteringEngineOptions,
  Rule,
  RuleOperator,
  StateQueryInput,
  StateResponse,
  StateWindow,
} from './contract.js';
export { createMeteringEngine, sweepPageEventsDefault, sweepPagesMax } from './metering-engine.js';
export { shutdownSweepMsDefault } from './contract.js';
export { loadRules, parseRule, ruleFilesMax } from './load-rules.js';
export type { SchemaRegistry } from './load-schemas.js';
export { loadSchemas } from './load-schemas.js';
export { parseDuration } from './parse-duration.js';
export type { EnvelopeContext, ValidEnvelope } from './envelope.js';
export { envelopeFields, validateEnvelope } from './envelope.js';
export type { DataValidator } from './schema-validator.js';
export { compileSchemas } from './schema-validator.js';
export type { ParsedStateQuery } from './state-query.js';
export { buildStateResponse, parseStateQuery, stateRangeMsMax } from './state-query.js';
export type { SweepOptions, SweepReport } from './sweeper.js';
export { runSweep } from './sweeper.js';
export type {
  BucketDifference,
  MaintenanceProgress,
  RebuildOptions,
  RebuildReport,
  VerifyOptions,
  VerifyReport,
} from './maintenance.js';
export {
  maintenancePageEvents,
  rebuildRule,
  rebuildSwapAttemptsMax,
  verifyDifferencesMaxDefault,
  verifyState,
} from './maintenance.js';
export type {
  NamedSubscriptionContext,
  NamedSubscriptionHandle,
  NamedSubscriptions,
  NamedSubscriptionStatus,
  OpenNamedSubscriptionOptions,
} from './named-subscriptions.js';
export {
  createNamedSubscriptions,
  namedSubscriptionLagScanEventsMax,
  openNamedSubscription,
} from './named-subscriptions.js';
export type { SubscriptionRequest } from './subscriptions.js';
export {
  createAppendWaiter,
  openSubscription,
  subscriptionFilterValuesMax,
  subscriptionPageEvents,
  subscriptionPollMsDefault,
} from './subscriptions.js';
export type {
  DefinitionsEngine,
  DefinitionsEngineOptions,
  DefinitionsView,
  TypedEventInput,
} from './definitions.js';
export {
  createDefinitionsEngine,
  definitionsRetriesMax,
  describeDefinitions,
  sqlRowsMaxDefault,
  sqlTimeoutMsDefault,
} from './definitions.js';
export type { MigrationFile, MigrationStatus } from './migrations.js';
export {
  loadMigrations,
  migrationChecksum,
  migrationFileBytesMax,
  migrationFilesMax,
  migrationStatus,
  pendingMigrations,
  upcastersFromModules,
} from './migrations.js';
export type {
  AggregateChangeMessage,
  AggregateChangeRequest,
  LogHead,
  SubscribeToChangesOptions,
} from './aggregate-changes.js';
export {
  aggregateChangeKeysMax,
  aggregateChangesPageMax,
  openAggregateChanges,
  subscribeToChanges,
} from './aggregate-changes.js';
