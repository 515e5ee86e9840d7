import type {
  AppendBatch,
  AppendOutcome,
  GlobalPosition,
  Range,
  RecordedEvent,
  Storage,
  StorageCapabilities,
  StreamId,
  StreamInfo,
  StreamRevision,
} from '@aevon/core';
import { AevonError, assert } from '@aevon/core';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Pool } from 'pg';
import {
  connectTimeoutMsDefault,
  createBoundedPool,
  poolMaxDefault,
  poolWaitersMaxDefault,
} from './bounded-pool.js';
import { toStorageError } from './postgres-error.js';
import { appendInTransaction } from './queries/append.js';
import { selectAll, selectStream, selectStreamEnds } from './queries/read.js';
import { tablesOf } from './queries/tables.js';
import type { Tables } from './queries/tables.js';
import { checkSchemaVersion, migrate } from './schema/migrate.js';
import type { Migration } from './schema/migrations.js';
import { eventLogMigrations } from './schema/migrations.js';
import { inTransaction } from './transaction.js';

/** Options for {@link createPostgresStorage}: give `connectionString` or an existing `pool`. */
export type PostgresStorageOptions = (
  | { readonly connectionString: string; readonly pool?: undefined }
  | { readonly pool: Pool; readonly connectionString?: undefined }
) & {
  /** The PostgreSQL schema (namespace) holding the tables. Default: `aevon`. */
  readonly schema?: string;
  /** Connections in the pool this storage creates (ignored with `pool`). Default: {@link poolMaxDefault}. */
  readonly poolMax?: number;
  /**
   * Callers waiting for a connection of the pool this storage creates (ignored with `pool`); one more fails at once
   * with `AEV_OVERLOADED`. Default: {@link poolWaitersMaxDefault}.
   */
  readonly poolWaitersMax?: number;
  /**
   * How long a caller waits for a connection (a new one, or a busy one to be returned) before it fails with
   * `AEV_STORAGE_UNAVAILABLE` (ignored with `pool`). Default: {@link connectTimeoutMsDefault}.
   */
  readonly connectTimeoutMs?: number;
  /**
   * Apply pending migrations on creation. Default: true, for development and tests. In production set it to false
   * and run `aevon migrate` once per release, so that several nodes never change the schema behind each other's back;
   * creation then only checks the schema version.
   */
  readonly migrate?: boolean;
  /** The migrations to apply or require. Default: {@link eventLogMigrations}. */
  readonly migrations?: readonly Migration[];
  /**
   * How long a global read may wait, at most, for older open transactions to finish when committed events in its
   * range are held above the watermark, so that a reader sees its own fresh commit. Waiting never affects
   * correctness, only freshness: after it, the read returns what lies below the watermark. Default: 1000; 0 never
   * waits.
   */
  readonly readVisibilityWaitMs?: number;
};

/** A {@link Storage} on PostgreSQL; several processes may share its database. */
export interface PostgresStorage extends Storage {
  readonly engine: 'postgres';
  /** The pool this storage runs on, for modules that keep their own tables in the same transactions' database. */
  readonly pool: Pool;
  /** The schema holding the tables. */
  readonly schema: string;
}

const capabilities: StorageCapabilities = Object.freeze({ multiProcess: true });

/**
 * Creates a {@link PostgresStorage}: connects, then migrates (or, with `migrate: false`, checks the schema version).
 *
 * Positions are `(tx_id, seq)` rendered as `<20 digits>-<20 digits>`: strictly increasing, not gap-free. Global reads
 * return only events of transactions below the snapshot's xmin, so no forward reader ever misses a late commit.
 * @throws AEV_STORAGE_SCHEMA_MISMATCH with `migrate: false` when a migration is missing;
 *   AEV_STORAGE_UNAVAILABLE when the database cannot be reached; AEV_CONFIG_INVALID for a bad schema name.
 */
export async function createPostgresStorage(
  options: PostgresStorageOptions,
): Promise<PostgresStorage> {
  const schema = options.schema ?? 'aevon';
  const tables = tablesOf(schema);
  const migrations = options.migrations ?? eventLogMigrations;
  const ownsPool = options.pool === undefined;
  const pool =
    options.pool ??
    createBoundedPool({
      connectionString: options.connectionString,
      max: options.poolMax ?? poolMaxDefault,
      waitersMax: options.poolWaitersMax ?? poolWaitersMaxDefault,
      connectTimeoutMs: options.connectTimeoutMs ?? connectTimeoutMsDefault,
    });
  try {
    if (options.migrate ?? true) await migrate(pool, { schema, migrations });
    else await checkSchemaVersion(pool, { schema, migrations });
  } catch (error) {
    if (ownsPool) await pool.end().catch(() => undefined);
    throw error;
  }
  const waitMs = options.readVisibilityWaitMs ?? 1000;
  assert(Number.isFinite(waitMs) && waitMs >= 0, 'readVisibilityWaitMs is a non-negative number');
  return buildStorage({ pool, ownsPool, schema, tables, waitMs });
}

interface StorageParts {
  readonly pool: Pool;
  readonly ownsPool: boolean;
  readonly schema: string;
  readonly tables: Tables;
  readonly waitMs: number;
}

function buildStorage({ pool, ownsPool, schema, tables, waitMs }: StorageParts): PostgresStorage {
  let closed = false;
  const open = (): void => {
    if (closed) throw new AevonError('AEV_STORAGE_UNAVAILABLE', { reason: 'storage is closed' });
  };
  const run = async <T>(operation: string, body: () => Promise<T>): Promise<T> => {
    open();
    try {
      return await body();
    } catch (error) {
      throw toStorageError(operation, error);
    }
  };
  const readAll = (range: Range<GlobalPosition>): Promise<readonly RecordedEvent[]> =>
    run('readAll', () => readAllFresh(pool, tables, range, waitMs));

  return {
    engine: 'postgres',
    capabilities,
    pool,
    schema,
    appendBatches: (batches) => run('append', () => appendGroup(pool, tables, batches)),
    readStream: (stream: StreamId, range: Range<StreamRevision>) =>
      run('readStream', () => selectStream(pool, tables, stream, range)),
    readAll,
    readLatest: (stream: StreamId) =>
      run('readLatest', async () => {
        const page = await selectStream(pool, tables, stream, latestRange);
        return page[0] ?? null;
      }),
    streamInfo: (stream: StreamId) => run('streamInfo', () => streamInfo(pool, tables, stream)),
    headPosition: async () => {
      const page = await readAll(headRange);
      return page[0]?.position ?? null;
    },
    close: async () => {
      if (closed) return;
      closed = true;
      if (ownsPool) await pool.end();
    },
  };
}

const latestRange: Range<StreamRevision> = {
  start: null,
  startExclusive: false,
  end: null,
  endExclusive: false,
  limit: 1,
  direction: 'backward',
};
const headRange: Range<GlobalPosition> = {
  start: null,
  startExclusive: false,
  end: null,
  endExclusive: false,
  limit: 1,
  direction: 'backward',
};

/** Writes a group in one transaction; any failure rolls all of it back. */
async function appendGroup(
  pool: Pool,
  tables: Tables,
  batches: readonly AppendBatch[],
): Promise<readonly AppendOutcome[]> {
  assert(batches.length > 0, 'a group holds at least one batch');
  const outcomes = await inTransaction(pool, 'BEGIN', (client) =>
    appendInTransaction(client, tables, batches),
  );
  assert(outcomes.length === batches.length, 'one outcome per batch');
  return outcomes;
}

/**
 * Reads a page below the watermark. When committed events in the range are held above it by an older open
 * transaction, it waits for that transaction (bounded by `waitMs`) so that a caller reads its own fresh commit.
 */
async function readAllFresh(
  pool: Pool,
  tables: Tables,
  range: Range<GlobalPosition>,
  waitMs: number,
): Promise<readonly RecordedEvent[]> {
  let waitedMs = 0;
  let stepMs = 1;
  let heldUpTo: string | null = null;
  for (;;) {
    const page = await selectAll(pool, tables, range, heldUpTo);
    if (page.heldUpTo === null || waitedMs >= waitMs) return page.events;
    // Wait only for the rows held at the first look; later commits do not extend the wait.
    heldUpTo ??= page.heldUpTo;
    await sleep(stepMs);
    waitedMs += stepMs;
    stepMs = Math.min(stepMs * 2, 32);
  }
}

async function streamInfo(
  pool: Pool,
  tables: Tables,
  stream: StreamId,
): Promise<StreamInfo | null> {
  const ends = await selectStreamEnds(pool, tables, stream);
  const first = ends[0];
  const last = ends[ends.length - 1];
  if (first === undefined || last === undefined) return null;
  assert(first.revision === 0n, 'a stream starts at revision 0');
  return {
    stream,
    revision: last.revision,
    firstPosition: first.position,
    lastPosition: last.position,
    createdAt: first.recordedAt,
    updatedAt: last.recordedAt,
  };
}
