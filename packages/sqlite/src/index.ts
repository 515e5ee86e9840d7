export type { SqliteStorage, SqliteStorageOptions } from './sqlite-storage.js';
export { createSqliteStorage } from './sqlite-storage.js';
export { parseSqliteDsn } from './sqlite-dsn.js';
export type { Migration } from './schema/migrations.js';
export {
  appliedMigrationVersions,
  applyMigrations,
  sqliteMigrations,
} from './schema/migrations.js';
export type { SqliteMeteringStoreOptions } from './metering/sqlite-metering-store.js';
export {
  createSqliteMeteringStore,
  sqliteMeteringMigrations,
} from './metering/sqlite-metering-store.js';
export {
  createSqliteApiKeyStore,
  sqliteApiKeyMigrations,
} from './api-keys/sqlite-api-key-store.js';
export {
  createSqliteNamedSubscriptionStore,
  sqliteNamedSubscriptionMigrations,
} from './named-subscriptions/sqlite-named-subscription-store.js';
export type {
  SqliteAggregateStore,
  SqliteAggregateStoreOptions,
} from './aggregates/sqlite-aggregate-store.js';
export {
  changesPageMax,
  createSqliteAggregateStore,
  replayPageEventsMax,
  sqlQueueMaxDefault,
  sqliteAggregateMigrations,
} from './aggregates/sqlite-aggregate-store.js';
export { deniedSqlFunctions, sqlParamsMax, sqlTextLengthMax } from './aggregates/sql-guard.js';
export { sqlResultBytesMax } from './aggregates/query-process.js';
