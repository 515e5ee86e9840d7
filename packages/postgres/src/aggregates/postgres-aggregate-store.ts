import type { EventData, PreparedEvent, RecordedEvent } from '@aevon/core';
import { AevonError, assert } from '@aevon/core';
import type {
  AggregateStore,
  Catalog,
  ChangeRange,
  DefinitionsChangedData,
  DefinitionsChangeRequest,
  DefinitionsChangeResult,
  DefinitionsState,
  Row,
  RowChange,
  SqlRequest,
  SqlResult,
  TypedWrite,
  TypedWriteResult,
  Value,
} from '@aevon/ddl';
import {
  aggregateConflict,
  applyDefinitionsChange,
  coerceFromText,
  coerceValue,
  columnType,
  definitionsEventType,
  definitionsStream,
  emptyDefinitionsState,
  pathPlaceholders,
  planRowChanges,
  streamIdFor,
  upcastersNeeded,
} from '@aevon/ddl';
import type { ClientBase, PoolClient } from 'pg';
import { sqlState, toStorageError } from '../postgres-error.js';
import type { PostgresStorage } from '../postgres-storage.js';
import { appendInTransaction } from '../queries/append.js';
import { tablesOf } from '../queries/tables.js';
import type { Tables } from '../queries/tables.js';
import { checkSchemaVersion, migrate } from '../schema/migrate.js';
import { inTransaction } from '../transaction.js';
import { postgresAggregateMigrations } from './aggregate-migrations.js';
import type { AggregateNames } from './aggregate-tables.js';
import {
  aggregateNamesOf,
  isSerialColumn,
  quoteIdent,
  setUpAggregateSchema,
  tableOf,
} from './aggregate-tables.js';
import { readChangePage, recordChanges } from './change-feed.js';
import { catchUpDefinitions, readDefinitionsVersion } from './definitions-log.js';
import { applyTableChanges } from './table-changes.js';
import { readPgRow, textTypes } from './pg-values.js';
import { applyOperations, rowChangesAt } from './row-writer.js';
import { runSqlQuery } from './sql-query.js';

/** Options for {@link createPostgresAggregateStore}. */
export interface PostgresAggregateStoreOptions {
  /**
   * Apply {@link postgresAggregateMigrations} now (under the migration advisory lock). Default: true. With false,
   * `aevon migrate` must have run: creation only checks that they are recorded.
   */
  readonly migrate?: boolean;
  /**
   * How long `readChanges` may wait, at most, for older open transactions when committed changes in its range are
   * held above the watermark, so that a writer reads its own fresh changes. Default: 1000; 0 never waits.
   */
  readonly readVisibilityWaitMs?: number;
}

/** Tries of a typed write that PostgreSQL aborted as a deadlock or serialization failure (then retried whole). */
export const typedWriteAttemptsMax = 3;
const retryableStates: ReadonlySet<string> = new Set(['40P01', '40001']);

/**
 * Opens a writing transaction with the output settings that make values read back canonical (timestamps in UTC,
 * ISO dates), in the same round trip.
 */
const beginWrite = "BEGIN; SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO, YMD'";

type Queryable = ClientBase | PostgresStorage['pool'];

interface Context {
  readonly storage: PostgresStorage;
  readonly names: AggregateNames;
  readonly tables: Tables;
  readonly waitMs: number;
  /** The newest definitions this process has folded; shared by every call, replaced, never mutated. */
  known: DefinitionsState;
}

/**
 * An {@link AggregateStore} on the PostgreSQL database of `storage`: aggregate tables are real tables in the schema
 * `<schema>_aggregates`, written in the same transactions as the event log. Several processes may share the
 * database.
 *
 * Concurrency (ADR 5). A definitions change takes a transaction advisory lock (the "definitions lock")
 * exclusively, then the `aggregate_definitions` row FOR UPDATE; a typed write takes the definitions lock shared,
 * then an advisory lock per aggregate it touches (exclusive for those it writes, shared for those it only reads:
 * `references` and REFERENCES columns) in name order, then one on its stream, and only then the version row FOR
 * SHARE. The locks come before anything that assigns the transaction its id, and an event's position is that id: so
 * two writes that touch one aggregate or one stream get their positions in the order they apply, a replay of the log
 * in position order meets the same rows and constraints as the writes did, and a stream's revisions follow its
 * positions. Writes to unrelated aggregates and streams run in parallel.
 * @throws AEV_CONFIG_INVALID when the aggregate schema name is too long or the reader role cannot be created;
 *   AEV_STORAGE_SCHEMA_MISMATCH with `migrate: false` when the migrations are missing; AEV_STORAGE_UNAVAILABLE when
 *   the database fails.
 */
export async function createPostgresAggregateStore(
  storage: PostgresStorage,
  options: PostgresAggregateStoreOptions = {},
): Promise<AggregateStore> {
  const { pool, schema } = storage;
  const waitMs = options.readVisibilityWaitMs ?? 1000;
  assert(Number.isFinite(waitMs) && waitMs >= 0, 'readVisibilityWaitMs is a non-negative number');
  let names: AggregateNames;
  try {
    if (options.migrate ?? true)
      await migrate(pool, { schema, migrations: postgresAggregateMigrations });
    else await checkSchemaVersion(pool, { schema, migrations: postgresAggregateMigrations });
    const database = await pool.query<{ name: string }>('SELECT current_database() AS name');
    const name = database.rows[0]?.name;
    assert(name !== undefined, 'the database has a name');
    names = aggregateNamesOf(name, schema);
    await setUpAggregateSchema(pool, names);
  } catch (error) {
    throw toStorageError('aggregate store setup', error);
  }
  const context: Context = {
    storage,
    names,
    tables: tablesOf(schema),
    waitMs,
    known: emptyDefinitionsState(),
  };
  return buildStore(context);
}

function buildStore(context: Context): AggregateStore {
  const { storage, names } = context;
  const run = async <T>(operation: string, body: () => Promise<T>): Promise<T> => {
    try {
      return await body();
    } catch (error) {
      throw toStorageError(operation, error);
    }
  };
  return {
    engine: 'postgres',
    loadDefinitions: () => run('loadDefinitions', () => loadCurrent(context, storage.pool)),
    changeDefinitions: (request) =>
      run('changeDefinitions', async () => {
        const result = await inTransaction(storage.pool, beginWrite, (client) =>
          changeDefinitions(context, client, request),
        );
        if (result.state.version > context.known.version) context.known = result.state;
        return result;
      }),
    appendTyped: (write) => run('appendTyped', () => appendTypedWithRetry(context, write)),
    readRow: (aggregate, key) => run('readRow', () => readRow(context, aggregate, key)),
    query: (request: SqlRequest): Promise<SqlResult> => runSqlQuery(storage.pool, names, request),
    readChanges: (range: ChangeRange): Promise<readonly RowChange[]> =>
      run('readChanges', () => readChangePage(storage.pool, names, range, context.waitMs)),
  };
}

/** The current definitions: the cached fold when the version row has not moved past it, else caught up. */
async function loadCurrent(context: Context, client: Queryable): Promise<DefinitionsState> {
  const version = await readDefinitionsVersion(client, context.names);
  const known = context.known;
  return known.version >= version ? known : definitionsAt(context, client, version);
}

/**
 * The definitions at exactly `version`, which the caller holds the definitions lock on (so the cache, only ever set
 * from committed versions, is not ahead of it).
 */
async function definitionsAt(
  context: Context,
  client: Queryable,
  version: number,
): Promise<DefinitionsState> {
  const known = context.known;
  if (known.version === version) return known;
  assert(known.version < version, 'the cache holds committed definitions only');
  const state = await catchUpDefinitions(client, context.tables, known, version);
  assert(state.version === version, 'the definitions are caught up to the version asked for');
  if (state.version > context.known.version) context.known = state;
  return state;
}

function definitionsChanged(expected: number, actual: number): AevonError {
  return new AevonError('AEV_DEFINITIONS_CHANGED', { expected, actual });
}

async function changeDefinitions(
  context: Context,
  client: PoolClient,
  request: DefinitionsChangeRequest,
): Promise<DefinitionsChangeResult> {
  const { names, tables } = context;
  await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
    names.definitionsLockKey,
  ]);
  const version = await readDefinitionsVersion(client, names, 'FOR UPDATE');
  const before = await definitionsAt(context, client, version);
  if (request.expectedVersion !== undefined && request.expectedVersion !== before.version) {
    throw definitionsChanged(request.expectedVersion, before.version);
  }
  const migration = request.migration === undefined ? {} : { migration: request.migration };
  // Checked before anything is written; applied again below with the event's position.
  const checked = applyDefinitionsChange(before, { ddl: request.ddl, ...migration });
  const missing = upcastersNeeded(before, checked.changes).filter(
    (needed) => request.upcasters.get(needed.eventType)?.has(needed.fromVersion) !== true,
  );
  const first = missing[0];
  if (first !== undefined) {
    throw new AevonError('AEV_MIGRATION_INVALID', {
      reason:
        `the change needs an upcaster for event type "${first.eventType}" from version ${first.fromVersion} ` +
        `to ${first.fromVersion + 1}`,
      ...(request.migration === undefined ? {} : { file: request.migration.name }),
    });
  }
  const event = await appendDefinitionsEvent(
    client,
    tables,
    before,
    checked.state.version,
    request,
  );
  const applied = applyDefinitionsChange(before, {
    ddl: request.ddl,
    ...migration,
    position: event.position,
    recordedAt: event.recordedAt,
  });
  assert(applied.state.version === before.version + 1, 'a change raises the version by one');
  const tableChanges = await applyTableChanges(client, {
    names,
    tables,
    before: before.catalog,
    after: applied.state,
    changes: applied.changes,
    upcasters: request.upcasters,
  });
  await client.query(`UPDATE ${names.definitions} SET version = $1 WHERE singleton`, [
    applied.state.version,
  ]);
  return {
    state: applied.state,
    changes: applied.changes,
    warnings: applied.warnings,
    ...tableChanges,
    event,
  };
}

async function appendDefinitionsEvent(
  client: ClientBase,
  tables: Tables,
  before: DefinitionsState,
  version: number,
  request: DefinitionsChangeRequest,
): Promise<RecordedEvent> {
  const data: DefinitionsChangedData = {
    version,
    ddl: request.ddl,
    ...(request.migration === undefined ? {} : { migration: request.migration }),
  };
  const event: PreparedEvent = {
    id: request.eventId,
    type: definitionsEventType,
    data: { ...data },
    metadata: {},
    schemaVersion: 1,
    occurredAt: request.recordedAt,
    recordedAt: request.recordedAt,
    correlationId: null,
    causationId: null,
  };
  const expected = before.version === 0 ? 'no_stream' : BigInt(before.version - 1);
  const [outcome] = await appendInTransaction(client, tables, [
    [{ stream: definitionsStream, expected, events: [event] }],
  ]);
  assert(outcome !== undefined, 'one outcome per batch');
  if (!outcome.ok) throw outcome.error;
  const recorded = outcome.result.events[0];
  assert(recorded !== undefined, 'the definitions event is written');
  return recorded;
}

async function appendTypedWithRetry(
  context: Context,
  write: TypedWrite,
): Promise<TypedWriteResult> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await inTransaction(context.storage.pool, beginWrite, (client) =>
        appendTyped(context, client, write),
      );
    } catch (error) {
      const state = sqlState(error);
      if (state === undefined || !retryableStates.has(state) || attempt >= typedWriteAttemptsMax) {
        throw error;
      }
    }
  }
}

async function appendTyped(
  context: Context,
  client: PoolClient,
  write: TypedWrite,
): Promise<TypedWriteResult> {
  const { names, tables } = context;
  // Nothing before the aggregate locks may assign this transaction its id (see createPostgresAggregateStore).
  await client.query('SELECT pg_advisory_xact_lock_shared(hashtextextended($1, 0))', [
    names.definitionsLockKey,
  ]);
  const version = await readDefinitionsVersion(client, names);
  if (version !== write.definitionsVersion) {
    throw definitionsChanged(write.definitionsVersion, version);
  }
  const state = await definitionsAt(context, client, version);
  const { catalog } = state;
  await lockAggregates(
    client,
    names,
    aggregateLocks(catalog, write.eventType),
    knownStream(catalog, write),
  );
  assert(
    (await readDefinitionsVersion(client, names, 'FOR SHARE')) === version,
    'the definitions lock keeps the version',
  );
  const { data, created } = await assignKeys(client, names, catalog, write);
  const stream = streamIdFor(catalog, write.stream, data);
  const event = await appendEvent(client, tables, stream, write, data);
  const operations = planRowChanges(catalog, write.eventType, data, {
    eventId: write.id,
    recordedAt: write.recordedAt,
  });
  const applied = await applyOperations(client, names, catalog, operations);
  await recordChanges(client, names, event.position, write.id, applied);
  for (const operation of operations) {
    if (operation.kind === 'insert') created[operation.field] = operation.key;
  }
  return { event, created, changes: rowChangesAt(event.position, write.id, applied) };
}

/**
 * The aggregates a typed event of `eventType` touches and whether it writes them: `creates` and `updates` links
 * write; `references` links and the REFERENCES columns of written aggregates only read. Sorted by name.
 */
export function aggregateLocks(
  catalog: Catalog,
  eventType: string,
): { aggregate: string; exclusive: boolean }[] {
  const definition = catalog.eventTypes.get(eventType);
  assert(definition !== undefined, `event type "${eventType}" is defined`);
  const modes = new Map<string, boolean>();
  const touch = (aggregate: string, exclusive: boolean): void => {
    modes.set(aggregate, exclusive || modes.get(aggregate) === true);
  };
  for (const field of definition.fields) {
    if (field.link !== undefined) touch(field.link.aggregate, field.link.kind !== 'references');
  }
  for (const [aggregate, exclusive] of [...modes]) {
    if (!exclusive) continue;
    for (const column of catalog.aggregates.get(aggregate)?.columns ?? []) {
      if (column.references !== undefined) touch(column.references.aggregate, false);
    }
  }
  return [...modes]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([aggregate, exclusive]) => ({ aggregate, exclusive }));
}

/**
 * The stream id of a write when its path needs no generated key, else null: a generated key is new, so no other
 * write can share that stream.
 */
function knownStream(catalog: Catalog, write: TypedWrite): string | null {
  const definition = catalog.streams.get(write.stream);
  if (definition === undefined) return null;
  const generated = new Set(write.keysToGenerate.map((k) => k.field));
  for (const field of pathPlaceholders(definition.path)) {
    if (generated.has(field) || (write.data[field] ?? null) === null) return null;
  }
  return streamIdFor(catalog, write.stream, write.data);
}

/**
 * Takes the advisory locks of a typed write: its aggregates in name order, then its stream (when known before the
 * keys are generated), exclusively. The stream lock makes racing writes to one stream take their transaction ids,
 * and so their positions, in the order of their revisions.
 */
async function lockAggregates(
  client: ClientBase,
  names: AggregateNames,
  locks: readonly { aggregate: string; exclusive: boolean }[],
  stream: string | null,
): Promise<void> {
  const keys = locks.map((l) => names.aggregateLockPrefix + l.aggregate);
  const exclusive = locks.map((l) => l.exclusive);
  if (stream !== null) {
    keys.push(names.streamLockPrefix + stream);
    exclusive.push(true);
  }
  if (keys.length === 0) return;
  // unnest returns rows in array order, so the locks are taken in this order (no deadlock between writers).
  await client.query(
    `SELECT CASE WHEN l.exclusive THEN pg_advisory_xact_lock(hashtextextended(l.key, 0))
                 ELSE pg_advisory_xact_lock_shared(hashtextextended(l.key, 0)) END
     FROM unnest($1::text[], $2::boolean[]) WITH ORDINALITY AS l(key, exclusive, ord)`,
    [keys, exclusive],
  );
}

/**
 * Fills the serial `creates` keys the client left out from the per-(aggregate, column) counters, and raises the
 * counters past explicit serial keys, so that the next generated key is one more than every key seen.
 */
async function assignKeys(
  client: ClientBase,
  names: AggregateNames,
  catalog: Catalog,
  write: TypedWrite,
): Promise<{ data: Row; created: Record<string, Value> }> {
  const data: Record<string, Value> = { ...write.data };
  const generate = new Set(write.keysToGenerate.map((k) => k.field));
  const definition = catalog.eventTypes.get(write.eventType);
  assert(definition !== undefined, `event type "${write.eventType}" is defined`);
  for (const key of write.keysToGenerate) {
    const result = await client.query<{ last_key: string }>(
      `INSERT INTO ${names.keys} AS k (aggregate, column_name, last_key) VALUES ($1, $2, 1)
       ON CONFLICT (aggregate, column_name) DO UPDATE SET last_key = k.last_key + 1
       RETURNING last_key::text AS last_key`,
      [key.aggregate, key.column],
    );
    const generated = result.rows[0]?.last_key;
    assert(generated !== undefined, 'the key counter returns the new key');
    const aggregate = catalog.aggregates.get(key.aggregate);
    const column = aggregate?.columns.find((c) => c.name === key.column);
    assert(aggregate !== undefined && column !== undefined, 'a generated key is a defined column');
    const coerced = coerceFromText(columnType(catalog, aggregate.name, column), generated);
    if (!coerced.ok) {
      throw aggregateConflict(
        key.aggregate,
        key.column,
        'exists',
        `the key counter of ${key.aggregate}.${key.column} reached ${generated}, which ${coerced.reason}`,
      );
    }
    data[key.field] = coerced.value;
  }
  for (const field of definition.fields) {
    const link = field.link;
    const value = data[field.name] ?? null;
    if (link?.kind !== 'creates' || generate.has(field.name) || value === null) continue;
    const column = catalog.aggregates
      .get(link.aggregate)
      ?.columns.find((c) => c.name === link.column);
    if (column === undefined || !isSerialColumn(column)) continue;
    assert(typeof value === 'number' || typeof value === 'string', 'a serial key is an integer');
    await client.query(
      `INSERT INTO ${names.keys} AS k (aggregate, column_name, last_key)
       VALUES ($1, $2, GREATEST($3::bigint, 0))
       ON CONFLICT (aggregate, column_name) DO UPDATE SET last_key = GREATEST(k.last_key, excluded.last_key)`,
      [link.aggregate, link.column, String(value)],
    );
  }
  return { data, created: {} };
}

async function appendEvent(
  client: ClientBase,
  tables: Tables,
  stream: string,
  write: TypedWrite,
  data: Row,
): Promise<RecordedEvent> {
  const event: PreparedEvent = {
    id: write.id,
    type: write.eventType,
    // Canonical values are JSON by construction; the types differ only in how they spell a JSON object.
    data: data as EventData,
    metadata: write.metadata,
    schemaVersion: write.schemaVersion,
    occurredAt: write.occurredAt,
    recordedAt: write.recordedAt,
    correlationId: write.correlationId,
    causationId: write.causationId,
  };
  const [outcome] = await appendInTransaction(client, tables, [
    [{ stream, expected: write.expected, events: [event] }],
  ]);
  assert(outcome !== undefined, 'one outcome per batch');
  if (!outcome.ok) throw outcome.error;
  const recorded = outcome.result.events[0];
  assert(recorded !== undefined, 'the event is written');
  return recorded;
}

async function readRow(context: Context, aggregate: string, key: Value): Promise<Row | null> {
  const state = await loadCurrent(context, context.storage.pool);
  const definition = state.catalog.aggregates.get(aggregate);
  if (definition === undefined) {
    throw new AevonError('AEV_NOT_FOUND', { resource: `aggregate "${aggregate}"` });
  }
  const keyColumn = definition.columns.find((c) => c.primaryKey === true);
  assert(keyColumn !== undefined, `aggregate "${aggregate}" has a primary key`);
  const coerced = coerceValue(columnType(state.catalog, aggregate, keyColumn), key);
  if (!coerced.ok || coerced.value === null) return null;
  const table = tableOf(context.names, aggregate);
  const column = quoteIdent(keyColumn.name);
  try {
    const result = await context.storage.pool.query({
      text: `SELECT * FROM ${table}
             WHERE ${column} = (jsonb_populate_record(NULL::${table}, $1::jsonb)).${column}`,
      values: [JSON.stringify({ [keyColumn.name]: coerced.value })],
      rowMode: 'array',
      types: textTypes,
    });
    const values = result.rows[0];
    return values === undefined ? null : readPgRow(result.fields, values);
  } catch (error) {
    // A table dropped by a definitions change since the definitions were read.
    if (sqlState(error) === '42P01') return null;
    throw error;
  }
}
