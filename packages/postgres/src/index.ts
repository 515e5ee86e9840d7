export type { PostgresStorage, PostgresStorageOptions } from './postgres-storage.js';
export { createPostgresStorage } from './postgres-storage.js';
export type { MigrateOptions, MigrateResult } from './schema/migrate.js';
export { checkSchemaVersion, migrate } from './schema/migrate.js';
export type { Migration } from './schema/migrations.js';
export { eventLogMigrations, eventLogSchemaVersion } from './schema/migrations.js';
export { isPostgresDsn } from './postgres-dsn.js';
export { formatPostgresPosition, parsePostgresPosition } from './position.js';
export type { PostgresPosition } from './position.js';
export type { PostgresMeteringStoreOptions } from './metering/postgres-metering-store.js';
export {
  createPostgresMeteringStore,
  postgresMeteringMigrations,
} from './metering/postgres-metering-store.js';
export type { PostgresApiKeyStoreOptions } from './api-keys/postgres-api-key-store.js';
export {
  createPostgresApiKeyStore,
  postgresApiKeyMigrations,
} from './api-keys/postgres-api-key-store.js';
export { connectTimeoutMsDefault, poolMaxDefault, poolWaitersMaxDefault } from './bounded-pool.js';
export type { PostgresNamedSubscriptionStoreOptions } from './named-subscriptions/postgres-named-subscription-store.js';
export {
  createPostgresNamedSubscriptionStore,
  postgresNamedSubscriptionMigrations,
} from './named-subscriptions/postgres-named-subscription-store.js';
export type { PostgresAppendListener, PostgresAppendListenerOptions } from './append-listener.js';
export {
  createPostgresAppendListener,
  listenApplicationName,
  listenReconnectDelayMsMax,
  listenReconnectDelayMsMin,
} from './append-listener.js';
export type { PostgresAggregateStoreOptions } from './aggregates/postgres-aggregate-store.js';
export {
  createPostgresAggregateStore,
  typedWriteAttemptsMax,
} from './aggregates/postgres-aggregate-store.js';
export { postgresAggregateMigrations } from './aggregates/aggregate-migrations.js';
export { sqlRowsMaxLimit, sqlTimeoutMsLimit } from './aggregates/sql-query.js';
export { deniedSqlNames, sqlParamsMax, sqlTextLengthMax } from './aggregates/sql-guard.js';
export { changePageMax } from './aggregates/change-feed.js';
