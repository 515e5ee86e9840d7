import { performance } from 'node:perf_hooks';
import BetterSqlite3 from 'better-sqlite3';
import type { Database, Statement } from 'better-sqlite3';
import type { EventData, GlobalPosition, RecordedEvent } from '@aevon/core';
import {
  AevonError,
  AssertionError,
  assert,
  checkPayload,
  formatSequencePosition,
} from '@aevon/core';
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
  RowOperation,
  SqlColumn,
  SqlRequest,
  SqlResult,
  TypedWrite,
  TypedWriteResult,
  Upcasters,
  Value,
} from '@aevon/ddl';
import {
  aggregateConflict,
  aggregateTableChanges,
  applyDefinitionsChange,
  coerceValue,
  definitionsEventType,
  definitionsStream,
  emptyDefinitionsState,
  foldDefinitions,
  foreignKeys,
  planRowChanges,
  replayOperations,
  rowProblems,
  sameValue,
  streamIdFor,
  upcastersNeeded,
} from '@aevon/ddl';
import type { EventRow } from '../queries/event-row.js';
import { eventColumns, toRecordedEvent } from '../queries/event-row.js';
import type { Migration } from '../schema/migrations.js';
import { applyMigrations } from '../schema/migrations.js';
import type { SqliteStorage } from '../sqlite-storage.js';
import type { ResolvedAggregate } from './aggregate-tables.js';
import {
  aggregateTableName,
  aggregateTablePrefix,
  fromSqlite,
  plainValue,
  quoteIdentifier,
  resolveAggregate,
  rowFromSqlite,
  toSqlite,
} from './aggregate-tables.js';
import type { QueryJob, RawResult } from './query-process.js';
import { QueryProcess, replaceViews, rowBytes, sqlResultBytesMax } from './query-process.js';
import { driverMessage, guardQuery, rewriteSql } from './sql-guard.js';

/**
 * The aggregate store's SQLite schema, applied next to the event log's (version 4000 and up). The definitions
 * themselves live only in the log (stream `$aevon/definitions`); these tables hold what the log cannot give cheaply:
 * - `aggregate_key_counters`: per (aggregate, column), the highest serial key seen; the next generated key is one
 *   above it.
 * - `aggregate_changes`: the row-change feed, `position` being the rowid of the event that made the change and `seq`
 *   its order within that event.
 */
export const sqliteAggregateMigrations: readonly Migration[] = [
  {
    version: 4000,
    name: 'aggregate_store',
    sql: `
      CREATE TABLE aggregate_key_counters (
        aggregate TEXT NOT NULL,
        column_name TEXT NOT NULL,
        last_value INTEGER NOT NULL,
        PRIMARY KEY (aggregate, column_name)
      ) STRICT, WITHOUT ROWID;
      CREATE TABLE aggregate_changes (
        position INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        event_id TEXT NOT NULL,
        aggregate TEXT NOT NULL,
        key TEXT NOT NULL,
        operation TEXT NOT NULL CHECK (operation IN ('insert', 'update')),
        before TEXT,
        after TEXT NOT NULL,
        PRIMARY KEY (position, seq)
      ) STRICT, WITHOUT ROWID;
    `,
  },
];

/** Prepared row statements kept for reuse (one per table and statement shape). */
export const rowStatementsMax = 256;
/** Events read per page when a table is rebuilt by replaying the log. */
export const replayPageEventsMax = 500;
/** Queries that may wait behind the running one before `AEV_OVERLOADED`. */
export const sqlQueueMaxDefault = 16;
/** Most changes one {@link AggregateStore.readChanges} call returns. */
export const changesPageMax = 10_000;

/** Options for {@link createSqliteAggregateStore}. */
export interface SqliteAggregateStoreOptions {
  /** Queries that may wait behind the running one (file databases). Default: {@link sqlQueueMaxDefault}. */
  readonly sqlQueueMax?: number;
}

/**
 * An {@link AggregateStore} on SQLite, with what the engine needs to shut down. (Its commits do not go through the
 * event store: the engine's definitions service moves its own commit signal after each, on every engine.)
 */
export interface SqliteAggregateStore extends AggregateStore {
  readonly engine: 'sqlite';
  /** Stops the query process. The storage stays open; close it separately. */
  close(): Promise<void>;
}

interface CounterRow {
  readonly last_value: bigint;
}

interface ChangeRow {
  readonly position: bigint;
  readonly event_id: string;
  readonly aggregate: string;
  readonly key: string;
  readonly operation: 'insert' | 'update';
  readonly before: string | null;
  readonly after: string;
}

/**
 * Creates the aggregate store of a SQLite storage: applies {@link sqliteAggregateMigrations}, then works on the
 * storage's shared connection, each write in one immediate transaction with its log event.
 *
 * Queries (`query`) run on a separate read-only connection in a child process for a file database, so that a timeout
 * kills them; for `:memory:` they run in this process on the shared connection, and the timeout is then checked
 * between rows only (a single long step, such as an aggregate over a huge join, runs to its end).
 */
export function createSqliteAggregateStore(
  storage: SqliteStorage,
  options: SqliteAggregateStoreOptions = {},
): SqliteAggregateStore {
  applyMigrations(storage.database, sqliteAggregateMigrations);
  return new SqliteAggregates(storage, options.sqlQueueMax ?? sqlQueueMaxDefault);
}

function unavailable(reason: string, cause: unknown): AevonError<'AEV_STORAGE_UNAVAILABLE'> {
  return new AevonError('AEV_STORAGE_UNAVAILABLE', { reason }, { cause });
}

/** Whether `name` is stored in memory only (every connection has its own). */
function inMemory(path: string): boolean {
  return path === ':memory:' || path === '';
}

class SqliteAggregates implements SqliteAggregateStore {
  readonly engine = 'sqlite';
  readonly #storage: SqliteStorage;
  readonly #db: Database;
  readonly #lastDefinitionsRevision: Statement<[string], bigint | null>;
  readonly #definitionEvents: Statement<[string], EventRow>;
  readonly #counter: Statement<[string, string], CounterRow>;
  readonly #raiseCounter: Statement<[string, string, bigint]>;
  readonly #insertChange: Statement<
    [bigint, number, string, string, string, string, string | null, string]
  >;
  readonly #sqlQueueMax: number;
  /** The folded definitions and the definitions stream revision they were folded at. */
  #cache: { readonly revision: bigint | null; readonly state: DefinitionsState } | null = null;
  /** Read-only connection of the parent (guards, `:memory:` queries use the shared one), opened lazily. */
  #queryDb: Database | null = null;
  #queryViewsVersion = -1;
  #queryProcess: QueryProcess | null = null;
  /** Row statements by SQL text (their text names the table and columns, so a stale one cannot be reused). */
  readonly #statements = new Map<string, Statement>();
  #closed = false;

  constructor(storage: SqliteStorage, sqlQueueMax: number) {
    this.#storage = storage;
    this.#db = storage.database;
    this.#sqlQueueMax = sqlQueueMax;
    const db = this.#db;
    this.#lastDefinitionsRevision = db
      .prepare<[string], bigint | null>('SELECT max(revision) FROM events WHERE stream = ?')
      .pluck()
      .safeIntegers(true);
    this.#definitionEvents = db
      .prepare<[string], EventRow>(
        `SELECT ${eventColumns} FROM events WHERE stream = ? ORDER BY revision`,
      )
      .safeIntegers(true);
    this.#counter = db
      .prepare<[string, string], CounterRow>(
        'SELECT last_value FROM aggregate_key_counters WHERE aggregate = ? AND column_name = ?',
      )
      .safeIntegers(true);
    this.#raiseCounter = db.prepare<[string, string, bigint]>(
      `INSERT INTO aggregate_key_counters (aggregate, column_name, last_value) VALUES (?, ?, ?)
       ON CONFLICT (aggregate, column_name) DO UPDATE SET last_value = max(last_value, excluded.last_value)`,
    );
    this.#insertChange = db.prepare(
      `INSERT INTO aggregate_changes (position, seq, event_id, aggregate, key, operation, before, after)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
  }

  async loadDefinitions(): Promise<DefinitionsState> {
    this.#ensureOpen();
    return this.#run(() => this.#definitions());
  }

  async changeDefinitions(request: DefinitionsChangeRequest): Promise<DefinitionsChangeResult> {
    this.#ensureOpen();
    return this.#write(() => this.#changeDefinitions(request));
  }

  async appendTyped(write: TypedWrite): Promise<TypedWriteResult> {
    this.#ensureOpen();
    return this.#write(() => this.#appendTyped(write));
  }

  async readRow(aggregate: string, key: Value): Promise<Row | null> {
    this.#ensureOpen();
    return this.#run(() => {
      const state = this.#definitions();
      if (!state.catalog.aggregates.has(aggregate)) {
        throw new AevonError('AEV_NOT_FOUND', { resource: `aggregate ${aggregate}` });
      }
      const resolved = resolveAggregate(state.catalog, aggregate);
      const coerced = coerceValue(resolved.primaryKey.type, key);
      if (!coerced.ok) return null;
      return this.#selectRow(resolved, resolved.primaryKey.name, coerced.value);
    });
  }

  async readChanges(range: ChangeRange): Promise<readonly RowChange[]> {
    this.#ensureOpen();
    assert(
      Number.isSafeInteger(range.limit) && range.limit >= 1 && range.limit <= changesPageMax,
      'a change page limit is between 1 and changesPageMax',
    );
    const after = range.after === null ? 0n : positionRowid(range.after);
    const filter = range.aggregates === undefined ? null : JSON.stringify(range.aggregates);
    const rows = this.#run(() =>
      this.#db
        .prepare<[bigint, string | null, string | null, number], ChangeRow>(
          `SELECT position, event_id, aggregate, key, operation, before, after FROM aggregate_changes
           WHERE position > ? AND (? IS NULL OR aggregate IN (SELECT value FROM json_each(?)))
           ORDER BY position, seq LIMIT ?`,
        )
        .safeIntegers(true)
        .all(after, filter, filter, range.limit),
    );
    return rows.map((row): RowChange => ({
      position: formatSequencePosition(row.position),
      eventId: row.event_id,
      aggregate: row.aggregate,
      key: JSON.parse(row.key) as Value,
      operation: row.operation,
      before: row.before === null ? null : (JSON.parse(row.before) as Row),
      after: JSON.parse(row.after) as Row,
    }));
  }

  async query(request: SqlRequest): Promise<SqlResult> {
    this.#ensureOpen();
    assert(
      Number.isSafeInteger(request.rowsMax) && request.rowsMax >= 1,
      'rowsMax is a positive integer',
    );
    assert(
      Number.isSafeInteger(request.timeoutMs) && request.timeoutMs >= 1,
      'timeoutMs is a positive integer',
    );
    const rewritten = rewriteSql(request.sql);
    if (rewritten.paramsUsed !== request.params.length) {
      throw new AevonError('AEV_SQL_INVALID', {
        reason: `the query uses ${rewritten.paramsUsed} parameter(s) ($1..$n) but ${request.params.length} were given`,
      });
    }
    const params: Record<string, null | bigint | number | string> = {};
    request.params.forEach((value, index) => {
      params[`p${index + 1}`] = paramValue(value);
    });
    const state = this.#run(() => this.#definitions());
    const views = viewStatements(
      state,
      this.#run(() => this.#mainObjectNames()),
    );
    const db = this.#run(() => this.#queryConnection());
    const allowedRootPages = this.#run(() => {
      if (this.#queryViewsVersion !== state.version) {
        replaceViews(db, views);
        this.#queryViewsVersion = state.version;
      }
      return this.#aggregateRootPages(db, state);
    });
    const statement = guardQuery(db, rewritten.sql, params, allowedRootPages);
    const job: QueryJob = {
      sql: rewritten.sql,
      params,
      rowsMax: request.rowsMax,
      bytesMax: sqlResultBytesMax,
      timeoutMs: request.timeoutMs,
      views: { version: state.version, statements: views },
    };
    const raw = inMemory(this.#storage.path)
      ? runInProcess(statement, job)
      : await this.#process().run(job);
    return shapeResult(state.catalog, raw);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#queryProcess?.close();
    if (this.#queryDb !== null && this.#queryDb !== this.#db) this.#queryDb.close();
  }

  // --- definitions ---

  /** The definitions in force, folded again only when the definitions stream moved since the last fold. */
  #definitions(): DefinitionsState {
    const revision = this.#lastDefinitionsRevision.get(definitionsStream) ?? null;
    const cached = this.#cache;
    if (cached !== null && cached.revision === revision) return cached.state;
    const state =
      revision === null
        ? emptyDefinitionsState()
        : foldDefinitions(this.#definitionEvents.all(definitionsStream).map(toRecordedEvent));
    this.#cache = { revision, state };
    return state;
  }

  #changeDefinitions(request: DefinitionsChangeRequest): DefinitionsChangeResult {
    const before = this.#definitions();
    if (request.expectedVersion !== undefined && request.expectedVersion !== before.version) {
      throw new AevonError('AEV_DEFINITIONS_CHANGED', {
        expected: request.expectedVersion,
        actual: before.version,
      });
    }
    const applied = applyDefinitionsChange(before, {
      ddl: request.ddl,
      ...(request.migration === undefined ? {} : { migration: request.migration }),
      recordedAt: request.recordedAt,
    });
    for (const needed of upcastersNeeded(before, applied.changes)) {
      if (request.upcasters.get(needed.eventType)?.get(needed.fromVersion) === undefined) {
        throw new AevonError('AEV_MIGRATION_INVALID', {
          reason:
            `event type "${needed.eventType}" changed incompatibly: an upcaster from version ` +
            `${needed.fromVersion} to ${needed.fromVersion + 1} is needed`,
          ...(request.migration === undefined ? {} : { file: request.migration.name }),
        });
      }
    }
    checkTableNames(applied.state.catalog);
    const data: DefinitionsChangedData = {
      version: before.version + 1,
      ddl: request.ddl,
      ...(request.migration === undefined ? {} : { migration: request.migration }),
    };
    const lastRevision = this.#lastDefinitionsRevision.get(definitionsStream) ?? null;
    const event = this.#appendEvent({
      stream: definitionsStream,
      expected: lastRevision === null ? 'no_stream' : lastRevision,
      id: request.eventId,
      type: definitionsEventType,
      schemaVersion: 1,
      data: data as unknown as EventData,
      metadata: {},
      occurredAt: request.recordedAt,
      recordedAt: request.recordedAt,
      correlationId: null,
      causationId: null,
    });
    const state = this.#definitions();
    assert(state.version === before.version + 1, 'the definitions event moved the version by one');
    // The table's SQL is part of its shape: a type resolved through a reference can change it alone.
    const plan = aggregateTableChanges(
      before.catalog,
      state.catalog,
      applied.changes,
      (name) =>
        resolveAggregate(before.catalog, name).createSql ===
        resolveAggregate(state.catalog, name).createSql,
    );
    // Tables are about to be dropped and created: prepare row statements afresh.
    this.#statements.clear();
    for (const name of plan.dropped) {
      this.#db.exec(`DROP TABLE IF EXISTS ${quoteIdentifier(aggregateTableName(name))}`);
      this.#db.prepare('DELETE FROM aggregate_key_counters WHERE aggregate = ?').run(name);
    }
    for (const name of [...plan.created, ...plan.rebuilt]) {
      const resolved = resolveAggregate(state.catalog, name);
      this.#db.exec(`DROP TABLE IF EXISTS ${quoteIdentifier(resolved.table)}`);
      this.#db.exec(resolved.createSql);
    }
    const filled = new Set([...plan.created, ...plan.rebuilt]);
    if (filled.size > 0) this.#replay(state, request.upcasters, filled);
    return {
      state,
      changes: applied.changes,
      warnings: applied.warnings,
      created: plan.created,
      rebuilt: plan.rebuilt,
      dropped: plan.dropped,
      event,
    };
  }

  /**
   * Fills the (new, empty) tables of `aggregates` by replaying every event whose type links to one of them, in log
   * order, each read as its event type's current version. Only their operations are applied, without the reference
   * checks (the other tables may be rebuilding too, and the log was checked when written).
   */
  #replay(state: DefinitionsState, upcasters: Upcasters, aggregates: ReadonlySet<string>): void {
    const types = [...state.catalog.eventTypes.values()]
      .filter((eventType) =>
        eventType.fields.some(
          (field) => field.link !== undefined && aggregates.has(field.link.aggregate),
        ),
      )
      .map((eventType) => eventType.name);
    if (types.length === 0) return;
    const page = this.#db
      .prepare<[bigint, string, number], EventRow>(
        `SELECT ${eventColumns} FROM events
         WHERE position > ? AND type IN (SELECT value FROM json_each(?)) AND schema_version >= 1
         ORDER BY position LIMIT ?`,
      )
      .safeIntegers(true);
    const resolved = new Map<string, ResolvedAggregate>();
    const resolve = (name: string): ResolvedAggregate => {
      let found = resolved.get(name);
      if (found === undefined) {
        found = resolveAggregate(state.catalog, name);
        resolved.set(name, found);
      }
      return found;
    };
    let after = 0n;
    for (;;) {
      const rows = page.all(after, JSON.stringify(types), replayPageEventsMax);
      for (const row of rows) {
        const event = toRecordedEvent(row);
        const operations = replayOperations(state, upcasters, event);
        for (const operation of operations) {
          if (operation.kind === 'require' || !aggregates.has(operation.aggregate)) continue;
          this.#applyOperation(resolve(operation.aggregate), operation, state.catalog, false);
          if (operation.kind === 'insert')
            this.#raiseKeyCounter(resolve(operation.aggregate), operation.key);
        }
        after = row.position;
      }
      if (rows.length < replayPageEventsMax) return;
    }
  }

  // --- typed writes ---

  #appendTyped(write: TypedWrite): TypedWriteResult {
    const state = this.#definitions();
    if (write.definitionsVersion !== state.version) {
      throw new AevonError('AEV_DEFINITIONS_CHANGED', {
        expected: write.definitionsVersion,
        actual: state.version,
      });
    }
    const catalog = state.catalog;
    const data: Record<string, Value> = { ...write.data };
    for (const key of write.keysToGenerate) {
      const resolved = resolveAggregate(catalog, key.aggregate);
      const last = this.#counter.get(key.aggregate, key.column)?.last_value ?? 0n;
      const next = last + 1n;
      if (next > serialMax(resolved.primaryKey.type.name)) {
        throw aggregateConflict(
          key.aggregate,
          key.column,
          'exists',
          `the sequence of ${key.aggregate}.${key.column} is exhausted`,
        );
      }
      this.#raiseCounter.run(key.aggregate, key.column, next);
      data[key.field] = next <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(next) : next.toString();
    }
    // The event store checks sizes on its own append path; this path bypasses it, so it checks the same limit.
    checkPayload(write.id, data, write.metadata, this.#storage.limits);
    const stream = streamIdFor(catalog, write.stream, data);
    const event = this.#appendEvent({
      stream,
      expected: write.expected,
      id: write.id,
      type: write.eventType,
      schemaVersion: write.schemaVersion,
      data: data as EventData,
      metadata: write.metadata,
      occurredAt: write.occurredAt,
      recordedAt: write.recordedAt,
      correlationId: write.correlationId,
      causationId: write.causationId,
    });
    const operations = planRowChanges(catalog, write.eventType, data, {
      eventId: write.id,
      recordedAt: write.recordedAt,
    });
    const position = positionRowid(event.position);
    const created: Record<string, Value> = {};
    const changes: RowChange[] = [];
    for (const operation of operations) {
      if (operation.kind === 'require') {
        const resolved = resolveAggregate(catalog, operation.aggregate);
        if (!this.#exists(resolved, operation.column, operation.value)) {
          throw aggregateConflict(
            operation.aggregate,
            operation.column,
            'references',
            `field "${operation.field}": no ${operation.aggregate} row has ${operation.column} = ${JSON.stringify(operation.value)}`,
          );
        }
        continue;
      }
      const resolved = resolveAggregate(catalog, operation.aggregate);
      const change = this.#applyOperation(resolved, operation, catalog, true);
      if (operation.kind === 'insert') {
        created[operation.field] = operation.key;
        this.#raiseKeyCounter(resolved, operation.key);
      }
      const rowChange: RowChange = {
        position: event.position,
        eventId: write.id,
        aggregate: operation.aggregate,
        key: change.after[resolved.primaryKey.name] ?? null,
        operation: operation.kind,
        before: change.before,
        after: change.after,
      };
      this.#insertChange.run(
        position,
        changes.length,
        write.id,
        rowChange.aggregate,
        JSON.stringify(rowChange.key),
        rowChange.operation,
        rowChange.before === null ? null : JSON.stringify(rowChange.before),
        JSON.stringify(rowChange.after),
      );
      changes.push(rowChange);
    }
    return { event, created, changes };
  }

  /** Raises the key counter of a serial primary key to `key` (a key given explicitly, or replayed). */
  #raiseKeyCounter(resolved: ResolvedAggregate, key: Value): void {
    if (!isSerialName(resolved.primaryKey.type.name) || key === null) return;
    if (typeof key !== 'number' && typeof key !== 'string') return;
    this.#raiseCounter.run(resolved.definition.name, resolved.primaryKey.name, BigInt(key));
  }

  /**
   * Applies one insert or update to its table. `checked`: the constraints are checked first and a breach is an
   * `AEV_AGGREGATE_CONFLICT` (replays skip the reference checks).
   */
  #applyOperation(
    resolved: ResolvedAggregate,
    operation: Exclude<RowOperation, { kind: 'require' }>,
    catalog: Catalog,
    checked: boolean,
  ): { readonly before: Row | null; readonly after: Row } {
    const name = resolved.definition.name;
    const pk = resolved.primaryKey.name;
    let before: Row | null;
    let after: Row;
    if (operation.kind === 'insert') {
      before = null;
      after = operation.row;
      if (this.#exists(resolved, pk, operation.key)) {
        throw aggregateConflict(
          name,
          pk,
          'exists',
          `field "${operation.field}": a ${name} row with ${pk} = ${JSON.stringify(operation.key)} exists already`,
        );
      }
    } else {
      before = this.#selectRow(resolved, operation.column, operation.value);
      if (before === null) {
        throw aggregateConflict(
          name,
          operation.column,
          'references',
          `field "${operation.field}": no ${name} row has ${operation.column} = ${JSON.stringify(operation.value)}`,
        );
      }
      after = { ...before, ...operation.set };
    }
    const problem = rowProblems(resolved.definition, after)[0];
    if (problem !== undefined)
      throw aggregateConflict(name, problem.column, 'not_null', problem.reason);
    const touched =
      operation.kind === 'insert'
        ? resolved.columns.map((c) => c.name)
        : Object.keys(operation.set);
    if (checked) {
      for (const reference of foreignKeys(resolved.definition, after)) {
        if (operation.kind === 'update' && !touched.includes(reference.column)) continue;
        // A row may name itself (`parent references node(id)` on its own id).
        const self =
          reference.aggregate === name &&
          sameValue(after[reference.target] ?? null, reference.value);
        if (self) continue;
        const target = resolveAggregate(catalog, reference.aggregate);
        if (!this.#exists(target, reference.target, reference.value)) {
          throw aggregateConflict(
            name,
            reference.column,
            'references',
            `${name}.${reference.column} = ${JSON.stringify(reference.value)} names no ${reference.aggregate} row`,
          );
        }
      }
    }
    for (const column of resolved.definition.columns) {
      if (column.unique !== true || !touched.includes(column.name)) continue;
      const value = after[column.name] ?? null;
      if (value === null) continue;
      const storage = resolved.byName.get(column.name);
      assert(storage !== undefined, 'a unique column is resolved');
      const taken = this.#prepare(
        `SELECT 1 FROM ${quoteIdentifier(resolved.table)} WHERE ${quoteIdentifier(column.name)} = ? AND ${quoteIdentifier(pk)} IS NOT ?`,
      )
        .pluck()
        .get(
          toSqlite(storage.storage, value),
          toSqlite(resolved.primaryKey.storage, after[pk] ?? null),
        );
      if (taken !== undefined) {
        throw aggregateConflict(
          name,
          column.name,
          'unique',
          `a ${name} row with ${column.name} = ${JSON.stringify(value)} exists already`,
        );
      }
    }
    if (operation.kind === 'insert') {
      const columns = resolved.columns;
      this.#prepare(
        `INSERT INTO ${quoteIdentifier(resolved.table)} (${columns.map((c) => quoteIdentifier(c.name)).join(', ')})
           VALUES (${columns.map(() => '?').join(', ')})`,
      ).run(...columns.map((c) => toSqlite(c.storage, after[c.name] ?? null)));
    } else {
      const columns = Object.keys(operation.set).map((column) => {
        const found = resolved.byName.get(column);
        assert(found !== undefined, 'an update sets columns of its aggregate');
        return found;
      });
      if (columns.length > 0) {
        this.#prepare(
          `UPDATE ${quoteIdentifier(resolved.table)} SET ${columns.map((c) => `${quoteIdentifier(c.name)} = ?`).join(', ')}
             WHERE ${quoteIdentifier(pk)} = ?`,
        ).run(
          ...columns.map((c) => toSqlite(c.storage, after[c.name] ?? null)),
          toSqlite(resolved.primaryKey.storage, after[pk] ?? null),
        );
      }
    }
    return { before, after };
  }

  #exists(resolved: ResolvedAggregate, column: string, value: Value): boolean {
    const storage = resolved.byName.get(column);
    assert(storage !== undefined, 'the column belongs to the aggregate');
    if (value === null) return false;
    return (
      this.#prepare(
        `SELECT 1 FROM ${quoteIdentifier(resolved.table)} WHERE ${quoteIdentifier(column)} = ?`,
      )
        .pluck()
        .get(toSqlite(storage.storage, value)) !== undefined
    );
  }

  #selectRow(resolved: ResolvedAggregate, column: string, value: Value): Row | null {
    const storage = resolved.byName.get(column);
    assert(storage !== undefined, 'the column belongs to the aggregate');
    if (value === null) return null;
    const raw = this.#prepare(
      `SELECT * FROM ${quoteIdentifier(resolved.table)} WHERE ${quoteIdentifier(column)} = ?`,
    )
      .safeIntegers(true)
      .get(toSqlite(storage.storage, value)) as Record<string, unknown> | undefined;
    return raw === undefined ? null : rowFromSqlite(resolved, raw);
  }

  /** Appends one event inside the current transaction through the storage's own append path. */
  #appendEvent(
    event: Omit<RecordedEvent, 'stream' | 'revision' | 'position'> & {
      readonly stream: string;
      readonly expected: TypedWrite['expected'];
    },
  ): RecordedEvent {
    const { stream, expected, ...prepared } = event;
    const outcome = this.#storage.appendWithin([{ stream, expected, events: [prepared] }]);
    if (!outcome.ok) throw outcome.error;
    const recorded = outcome.result.events[0];
    assert(recorded !== undefined, 'one event was appended');
    return recorded;
  }

  // --- queries ---

  #queryConnection(): Database {
    if (this.#queryDb !== null) return this.#queryDb;
    const db = inMemory(this.#storage.path)
      ? this.#db
      : new BetterSqlite3(this.#storage.path, { readonly: true, fileMustExist: true });
    this.#queryDb = db;
    return db;
  }

  #process(): QueryProcess {
    this.#queryProcess ??= new QueryProcess(this.#storage.path, this.#sqlQueueMax);
    return this.#queryProcess;
  }

  /** Root pages of every aggregate table and its indexes: the only b-trees a query may open. */
  #aggregateRootPages(db: Database, state: DefinitionsState): ReadonlySet<number> {
    const tables = [...state.catalog.aggregates.keys()].map(aggregateTableName);
    const pages = db
      .prepare<[string], number>(
        `SELECT rootpage FROM main.sqlite_schema
         WHERE type IN ('table', 'index') AND tbl_name IN (SELECT value FROM json_each(?))`,
      )
      .pluck()
      .all(JSON.stringify(tables));
    return new Set(pages.map(Number));
  }

  /** Names of tables and views in the main schema that are not aggregate tables. */
  #mainObjectNames(): ReadonlySet<string> {
    const names = this.#db
      .prepare<[], string>("SELECT name FROM main.sqlite_schema WHERE type IN ('table', 'view')")
      .pluck()
      .all();
    return new Set(names.map((n) => n.toLowerCase()));
  }

  // --- plumbing ---

  /** A prepared row statement, reused while its text is asked for again (bounded: cleared when full). */
  #prepare(sql: string): Statement {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      if (this.#statements.size >= rowStatementsMax) this.#statements.clear();
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  /** Runs `fn` in an immediate transaction; a driver failure becomes `AEV_STORAGE_UNAVAILABLE`. */
  #write<T>(fn: () => T): T {
    try {
      return this.#storage.transaction(fn);
    } catch (error) {
      // A failed transaction may have left a fold of definitions it rolled back: fold again next time.
      this.#cache = null;
      if (error instanceof AevonError || error instanceof AssertionError) throw error;
      throw unavailable(`the aggregate transaction failed: ${driverMessage(error)}`, error);
    }
  }

  #run<T>(fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      if (error instanceof AevonError || error instanceof AssertionError) throw error;
      throw unavailable(`an aggregate read failed: ${driverMessage(error)}`, error);
    }
  }

  #ensureOpen(): void {
    if (this.#closed)
      throw new AevonError('AEV_STORAGE_UNAVAILABLE', { reason: 'the aggregate store is closed' });
  }
}

/**
 * Refuses aggregate names whose tables SQLite could not tell apart: SQLite folds identifiers to one case (ASCII),
 * so `"Account"` and `account`, or two columns differing only in case, would share a table or column.
 */
function checkTableNames(catalog: Catalog): void {
  const seen = new Map<string, string>();
  for (const aggregate of catalog.aggregates.values()) {
    const folded = aggregate.name.toLowerCase();
    const other = seen.get(folded);
    if (other !== undefined) {
      throw new AevonError('AEV_DDL_INVALID', {
        reason: `aggregates "${other}" and "${aggregate.name}" differ only in case, which SQLite does not tell apart`,
      });
    }
    seen.set(folded, aggregate.name);
    const columns = new Set<string>();
    for (const column of aggregate.columns) {
      const foldedColumn = column.name.toLowerCase();
      if (columns.has(foldedColumn)) {
        throw new AevonError('AEV_DDL_INVALID', {
          reason: `aggregate "${aggregate.name}": columns differing only in case are not supported on SQLite`,
        });
      }
      columns.add(foldedColumn);
    }
  }
}

/**
 * `CREATE TEMP VIEW name AS SELECT * FROM main.agg_name` for every aggregate, so that queries name aggregates as
 * they are defined. A name that is taken by another table of the database (`events`) gets no view: that aggregate is
 * queried as `agg_<name>`, and the guard refuses the other table.
 */
function viewStatements(state: DefinitionsState, mainNames: ReadonlySet<string>): string[] {
  const statements: string[] = [];
  for (const name of state.catalog.aggregates.keys()) {
    const folded = name.toLowerCase();
    if (mainNames.has(folded) || folded.startsWith('sqlite_')) continue;
    statements.push(
      `CREATE TEMP VIEW ${quoteIdentifier(name)} AS SELECT * FROM main.${quoteIdentifier(aggregateTableName(name))}`,
    );
  }
  return statements;
}

/** A query parameter bound as SQLite takes it: booleans as 0/1, integers as integers, JSON as text. */
function paramValue(value: Value): null | bigint | number | string {
  if (value === null) return null;
  if (typeof value === 'boolean') return value ? 1n : 0n;
  if (typeof value === 'number') return Number.isSafeInteger(value) ? BigInt(value) : value;
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

/** Runs a guarded statement in this process (`:memory:`): the timeout is checked between rows. */
function runInProcess(statement: Statement, job: QueryJob): RawResult {
  // A duration, not a time of day: the monotonic timer, like the query process's setTimeout.
  const deadline = performance.now() + job.timeoutMs;
  const columns = statement
    .columns()
    .map((c) => ({ name: c.name, table: c.table, column: c.column }));
  statement.safeIntegers(true).raw(true);
  const rows: unknown[][] = [];
  let truncated = false;
  let bytes = 0;
  try {
    for (const row of statement.iterate(job.params) as IterableIterator<unknown[]>) {
      if (performance.now() > deadline) {
        throw new AevonError('AEV_SQL_TIMEOUT', { timeoutMs: job.timeoutMs });
      }
      if (rows.length === job.rowsMax) {
        truncated = true;
        break;
      }
      bytes += rowBytes(row);
      if (bytes > job.bytesMax) {
        throw new AevonError('AEV_SQL_INVALID', {
          reason: `the result holds more than ${job.bytesMax} bytes: select fewer rows or columns`,
        });
      }
      rows.push(row);
    }
  } catch (error) {
    if (error instanceof AevonError) throw error;
    throw new AevonError('AEV_SQL_INVALID', { reason: driverMessage(error) });
  }
  return { columns, rows, truncated };
}

/** Raw rows → canonical rows, typed from the aggregate definitions where a column comes straight from a table. */
function shapeResult(catalog: Catalog, raw: RawResult): SqlResult {
  const names = new Set<string>();
  const columns = raw.columns.map((column) => {
    if (names.has(column.name)) {
      throw new AevonError('AEV_SQL_INVALID', {
        reason: `the result has two columns named "${column.name}": give them distinct names with AS`,
      });
    }
    names.add(column.name);
    let origin = null;
    if (column.table?.startsWith(aggregateTablePrefix) === true && column.column !== null) {
      const aggregate = column.table.slice(aggregateTablePrefix.length);
      if (catalog.aggregates.has(aggregate))
        origin = resolveAggregate(catalog, aggregate).byName.get(column.column) ?? null;
    }
    return { name: column.name, origin };
  });
  const rows = raw.rows.map((values) => {
    const row: Record<string, Value> = {};
    columns.forEach((column, index) => {
      const value = values[index];
      row[column.name] =
        column.origin === null ? plainValue(value) : fromSqlite(column.origin.storage, value);
    });
    return row;
  });
  const typed: SqlColumn[] = columns.map((c) => ({
    name: c.name,
    type: c.origin === null ? null : c.origin.typeName,
  }));
  return { columns: typed, rows, truncated: raw.truncated };
}

/** The rowid behind a SQLite position (20 digits). */
function positionRowid(position: GlobalPosition): bigint {
  if (!/^[0-9]{1,20}$/.test(position)) {
    throw new AevonError('AEV_REQUEST_INVALID', {
      reason: `"${position}" is not a position of this storage`,
      field: 'after',
    });
  }
  return BigInt(position);
}

function isSerialName(name: string): boolean {
  return name === 'smallserial' || name === 'serial' || name === 'bigserial';
}

/** The largest key a serial type's sequence gives (PostgreSQL's). */
function serialMax(name: string): bigint {
  if (name === 'smallserial') return 32_767n;
  if (name === 'serial') return 2_147_483_647n;
  return 9_223_372_036_854_775_807n;
}
