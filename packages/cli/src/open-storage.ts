import { isAbsolute, resolve } from 'node:path';
import type { ApiKeyStore, CommitSignal, NamedSubscriptionStore, Storage } from '@aevon/core';
import { AevonError } from '@aevon/core';
import type { AggregateStore } from '@aevon/ddl';
import type { MeteringEngineOptions } from '@aevon/engine';
import type { DatabaseConfig } from './config/config.js';

/** The metering store the engine keeps its pre-aggregates and checkpoint in, next to the event log. */
export type MeteringStore = MeteringEngineOptions['metering'];

/** An open database: the event log's storage, the metering store and the API key store on the same database. */
export interface OpenedStorage {
  /** `sqlite` or `postgres`. */
  readonly engine: string;
  /** Where the data lives, for the startup line (a file path, or the DSN without its password). */
  readonly location: string;
  readonly storage: Storage;
  readonly metering: MeteringStore;
  /** The API keys `aevon keys` manages and `aevon serve` checks. */
  readonly apiKeys: ApiKeyStore;
  /** Named subscriptions and their checkpoints (`/v1/subscriptions/{name}`). */
  readonly namedSubscriptions: NamedSubscriptionStore;
  /** Typed event types, streams and aggregate tables (issue 6), next to the log in the same transactions. */
  readonly aggregates: AggregateStore;
  /**
   * Stops what the aggregate store runs besides the shared connection (SQLite's query process); call it before or
   * after closing `storage`, which it leaves open.
   */
  readonly closeAggregates: () => Promise<void>;
  /**
   * With `listen` on PostgreSQL: the signal that moves on every append committed by any process (LISTEN/NOTIFY), to
   * wake live subscriptions. Closing `storage` closes it. Absent on SQLite, which has one writing process.
   */
  readonly appendWakeups?: CommitSignal;
}

/** What {@link openStorage} does to the schema. */
export interface OpenStorageOptions {
  /**
   * Apply pending migrations (PostgreSQL). Default: false, so that a serving node never changes a shared schema;
   * `aevon migrate` sets it. SQLite is always migrated on open: it is embedded and has one writer.
   */
  readonly migrate?: boolean;
  /**
   * Open a LISTEN connection for {@link OpenedStorage.appendWakeups} (PostgreSQL only; `aevon serve` sets it).
   * Default: false.
   */
  readonly listen?: boolean;
  /** Told each time the LISTEN connection fails; it reconnects on its own. Default: ignore. */
  readonly onListenError?: (error: unknown) => void;
}

/**
 * Opens the database of a DSN: the one place that picks a storage package (STYLE 2.4). `sqlite:` loads
 * `@aevon/sqlite` and `postgres://` or `postgresql://` loads `@aevon/postgres`, each only when used, so that a
 * SQLite deployment never loads `pg` and the reverse.
 * @throws AEV_CONFIG_INVALID for another scheme or a malformed DSN (naming `database.dsn` and its source);
 *   AEV_STORAGE_UNAVAILABLE or AEV_STORAGE_SCHEMA_MISMATCH from the storage.
 */
export async function openStorage(
  database: DatabaseConfig,
  options: OpenStorageOptions = {},
): Promise<OpenedStorage> {
  const { dsn } = database;
  if (dsn.startsWith('sqlite:')) return openSqlite(database);
  const { isPostgresDsn } = await import('@aevon/postgres');
  if (isPostgresDsn(dsn)) return openPostgres(database, options);
  throw new AevonError('AEV_CONFIG_INVALID', {
    reason: `database.dsn: unsupported scheme in ${JSON.stringify(redactDsn(dsn))}; use sqlite:PATH or postgres://...`,
    source: database.source,
  });
}

async function openSqlite(database: DatabaseConfig): Promise<OpenedStorage> {
  const sqlite = await import('@aevon/sqlite');
  let path: string;
  try {
    path = sqlite.parseSqliteDsn(database.dsn);
  } catch (error) {
    if (error instanceof Error) throw configError(database, error);
    throw error;
  }
  if (path !== ':memory:' && !isAbsolute(path)) path = resolve(database.baseDir, path);
  const storage = sqlite.createSqliteStorage({ path });
  try {
    const metering = sqlite.createSqliteMeteringStore(storage);
    const apiKeys = sqlite.createSqliteApiKeyStore(storage);
    const namedSubscriptions = sqlite.createSqliteNamedSubscriptionStore(storage);
    const aggregates = sqlite.createSqliteAggregateStore(storage);
    return {
      engine: 'sqlite',
      location: path,
      storage,
      metering,
      apiKeys,
      namedSubscriptions,
      aggregates,
      closeAggregates: () => aggregates.close(),
    };
  } catch (error) {
    await storage.close();
    throw error;
  }
}

async function openPostgres(
  database: DatabaseConfig,
  options: OpenStorageOptions,
): Promise<OpenedStorage> {
  const postgres = await import('@aevon/postgres');
  const storage = await postgres.createPostgresStorage({
    connectionString: database.dsn,
    migrate: options.migrate ?? false,
    poolMax: database.poolMax,
    poolWaitersMax: database.poolWaitersMax,
    connectTimeoutMs: database.connectTimeoutMs,
  });
  try {
    const metering = await postgres.createPostgresMeteringStore(storage);
    const apiKeys = await postgres.createPostgresApiKeyStore(storage);
    const namedSubscriptions = await postgres.createPostgresNamedSubscriptionStore(storage);
    // Like the storage's own schema: created only when migrating, else checked (AEV_STORAGE_SCHEMA_MISMATCH).
    const aggregates = await postgres.createPostgresAggregateStore(storage, {
      migrate: options.migrate ?? false,
    });
    const location = redactDsn(database.dsn);
    const closeAggregates = async (): Promise<void> => undefined;
    const stores = { metering, apiKeys, namedSubscriptions, aggregates, closeAggregates };
    if (options.listen !== true) return { engine: 'postgres', location, storage, ...stores };
    const listener = postgres.createPostgresAppendListener({
      connectionString: database.dsn,
      schema: storage.schema,
      connectTimeoutMs: database.connectTimeoutMs,
      ...(options.onListenError === undefined ? {} : { onError: options.onListenError }),
    });
    const close = async (): Promise<void> => {
      await listener.close();
      await storage.close();
    };
    return {
      engine: 'postgres',
      location,
      storage: { ...storage, close },
      ...stores,
      appendWakeups: listener,
    };
  } catch (error) {
    await storage.close();
    throw error;
  }
}

function configError(database: DatabaseConfig, error: Error): AevonError<'AEV_CONFIG_INVALID'> {
  return new AevonError('AEV_CONFIG_INVALID', {
    reason: `database.dsn: ${error.message}`,
    source: database.source,
  });
}

/** The DSN with any password replaced by `***`, for messages and logs. */
export function redactDsn(dsn: string): string {
  return dsn.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*):[^@/]*@/i, '$1:***@');
}
