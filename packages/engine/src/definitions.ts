import type { Clock, CommitSignal, ExpectedRevision, Random } from '@aevon/core';
import {
  AevonError,
  assert,
  createCommitSignal,
  formatTimestamp,
  isAevonError,
  randomUuid,
} from '@aevon/core';
import type {
  AggregateDefinition,
  AggregateStore,
  AppliedMigration,
  DefinitionsChangeResult,
  DefinitionsState,
  Row,
  SqlResult,
  Statement,
  TypedWriteResult,
  Upcasters,
  Value,
} from '@aevon/ddl';
import {
  applyDefinitionsChange,
  coerceFromText,
  columnType,
  formatDdl,
  upcastersNeeded,
  toTypedWrite,
  validateEventInput,
} from '@aevon/ddl';
import type {
  AggregateChangeMessage,
  AggregateChangeRequest,
  LogHead,
} from './aggregate-changes.js';
import { openAggregateChanges } from './aggregate-changes.js';
import type { MigrationFile, MigrationStatus } from './migrations.js';
import { migrationStatus, pendingMigrations } from './migrations.js';
import { createAppendWaiter, subscriptionPollMsDefault } from './subscriptions.js';

/** Times a typed write is validated again after the definitions changed under it, before it fails. */
export const definitionsRetriesMax = 3;
/** Default longest a `POST /v1/sql` query runs: 5 s. */
export const sqlTimeoutMsDefault = 5_000;
/** Default most rows a `POST /v1/sql` answer holds: 1,000. */
export const sqlRowsMaxDefault = 1_000;

/** One typed event as it arrives (`POST /v1/streams/{stream}/{key...}`), unvalidated. */
export interface TypedEventInput {
  /** The stream definition's name (`account_events`). */
  readonly stream: string;
  readonly eventType: string;
  readonly body: unknown;
  /** The key segments after the stream name in the path, in the order of the stream path's placeholders. */
  readonly pathValues: readonly string[];
  /** The event's id; a fresh UUID when absent. */
  readonly id?: string;
  /** Default: `any`. */
  readonly expected?: ExpectedRevision;
}

/** What the definitions engine needs. */
export interface DefinitionsEngineOptions {
  readonly store: AggregateStore;
  /** The event log on the same database (an `EventStore`): where a change feed from `end` starts. */
  readonly log: LogHead;
  readonly clock: Clock;
  readonly random: Random;
  /** Signals that wake live change feeds besides this engine's own writes (PostgreSQL's LISTEN). Default: none. */
  readonly wakeSources?: readonly CommitSignal[];
  /** How often a live change feed re-reads without a wake-up. Default: 250 ms. */
  readonly pollMs?: number;
  /** Upcasters of the migrations (used when a definitions change rebuilds a table). Default: none. */
  readonly upcasters?: Upcasters;
  /** `POST /v1/sql` bounds: a request's `limit` may only lower `rowsMax`. */
  readonly sqlTimeoutMs?: number;
  readonly sqlRowsMax?: number;
}

/** The definitions in force, as `GET /v1/definitions` answers them. */
export interface DefinitionsView {
  readonly version: number;
  /** Every definition in force as DDL text (`formatDdl`): aggregates, then event types, then streams. */
  readonly ddl: string;
  readonly migrations: readonly AppliedMigration[];
}

/**
 * Typed event types, streams and aggregates on one {@link AggregateStore}: the definitions cached in memory, typed
 * writes validated against them, definitions changes and migrations, row reads and SQL. Every committed typed write
 * moves {@link DefinitionsEngine.commits}, so that live subscriptions (events and aggregate changes) wake at once.
 */
export interface DefinitionsEngine {
  readonly store: AggregateStore;
  /** Moves after each typed write and definitions change committed through this engine. */
  readonly commits: CommitSignal;
  /** The cached definitions (those of the last load, write or change). */
  current(): DefinitionsState;
  /** Reads the definitions from the log again. */
  reload(): Promise<DefinitionsState>;
  /**
   * Validates and appends one typed event, updating the aggregates in the same transaction; when the definitions
   * changed in between (another process migrated), reloads them and tries again, at most {@link definitionsRetriesMax}
   * times.
   * @throws AEV_NOT_FOUND (unknown stream or event type), AEV_EVENT_DATA_INVALID, AEV_AGGREGATE_CONFLICT,
   *   AEV_STREAM_VERSION_MISMATCH, AEV_EVENT_ID_DUPLICATE, AEV_DEFINITIONS_CHANGED, AEV_STORAGE_UNAVAILABLE.
   */
  write(input: TypedEventInput): Promise<TypedWriteResult>;
  /** Applies DDL text as one definitions change. @throws AEV_DDL_INVALID, AEV_DEFINITIONS_CHANGED. */
  applyDdl(
    ddl: string,
    options?: {
      readonly migration?: { readonly name: string; readonly checksum: string };
      /** Apply only at this definitions version (else `AEV_DEFINITIONS_CHANGED`). Default: any. */
      readonly expectedVersion?: number;
    },
  ): Promise<DefinitionsChangeResult>;
  /**
   * Applies the pending migrations of `files` in order, each as one definitions change recording its name and
   * checksum; `onApplied` is told after each. Returns the ones applied.
   * @throws AEV_MIGRATION_INVALID (see `pendingMigrations`), AEV_DDL_INVALID naming the file.
   */
  migrate(
    files: readonly MigrationFile[],
    onApplied?: (file: MigrationFile, result: DefinitionsChangeResult) => void,
  ): Promise<readonly MigrationFile[]>;
  /** Each migration file applied or pending, from the log. @throws AEV_MIGRATION_INVALID. */
  migrationStatus(files: readonly MigrationFile[]): Promise<readonly MigrationStatus[]>;
  /** The definitions in force as text. */
  describe(): Promise<DefinitionsView>;
  /**
   * The row of `aggregate` whose primary key is `keyText` (a path segment, coerced to the key's type).
   * @throws AEV_NOT_FOUND for an unknown aggregate or row; AEV_REQUEST_INVALID (field `key`) for a key that is not
   *   of the key's type.
   */
  readRow(aggregate: string, keyText: string): Promise<Row>;
  /**
   * The canonical key of `aggregate` for a text (a path segment or query parameter).
   * @throws AEV_NOT_FOUND, AEV_REQUEST_INVALID as {@link readRow}.
   */
  parseKey(aggregate: string, keyText: string, field: string): Promise<Value>;
  /** The definition of an aggregate in force. @throws AEV_NOT_FOUND. */
  requireAggregate(name: string): Promise<AggregateDefinition>;
  /** Runs a read-only query. `rowsMax` may only lower the configured maximum. @throws AEV_SQL_INVALID, AEV_SQL_TIMEOUT. */
  query(sql: string, params: readonly Value[], rowsMax?: number): Promise<SqlResult>;
  /**
   * Opens the change feed of an aggregate table (see `openAggregateChanges`); it ends when `signal` aborts.
   * @throws AEV_NOT_FOUND, AEV_REQUEST_INVALID.
   */
  openChanges(
    request: AggregateChangeRequest,
    signal: AbortSignal,
  ): Promise<AsyncIterable<AggregateChangeMessage>>;
  /** The configured most rows of a query answer. */
  readonly sqlRowsMax: number;
}

/** Creates the {@link DefinitionsEngine}, loading the definitions from the log. */
export async function createDefinitionsEngine(
  options: DefinitionsEngineOptions,
): Promise<DefinitionsEngine> {
  const { store, clock, random } = options;
  const upcasters: Upcasters = options.upcasters ?? new Map();
  const { sqlTimeoutMs, sqlRowsMax } = sqlLimits(options);
  const commits = createCommitSignal();
  const waiter = createAppendWaiter(
    commits,
    options.pollMs ?? subscriptionPollMsDefault,
    options.wakeSources ?? [],
  );
  let state = await store.loadDefinitions();
  const reload = async (): Promise<DefinitionsState> => {
    state = await store.loadDefinitions();
    return state;
  };
  const applyDdl: DefinitionsEngine['applyDdl'] = async (ddl, change = {}) => {
    const result = await store.changeDefinitions({
      ddl,
      ...(change.migration === undefined ? {} : { migration: change.migration }),
      ...(change.expectedVersion === undefined ? {} : { expectedVersion: change.expectedVersion }),
      eventId: randomUuid(random),
      recordedAt: formatTimestamp(clock.nowMs()),
      upcasters,
    });
    state = result.state;
    commits.committed();
    return result;
  };
  const aggregateOf = async (name: string): Promise<AggregateDefinition> => {
    // An aggregate another process just created is not in the cache yet: look once more in the log.
    const found =
      state.catalog.aggregates.get(name) ?? (await reload()).catalog.aggregates.get(name);
    if (found === undefined) throw notFound(`aggregate ${name}`);
    return found;
  };
  const parseKey: DefinitionsEngine['parseKey'] = async (aggregate, keyText, field) => {
    const definition = await aggregateOf(aggregate);
    return coerceKey(state, definition, keyText, field);
  };
  const engine: DefinitionsEngine = {
    store,
    commits,
    sqlRowsMax,
    current: () => state,
    reload,
    write: async (input) => {
      const result = await writeTyped(input, { store, clock, random, reload, get: () => state });
      commits.committed();
      return result;
    },
    applyDdl,
    migrate: async (files, onApplied) => {
      const pending = pendingMigrations(files, (await reload()).migrations);
      checkMigrations(state, pending, upcasters);
      await applyMigrations(pending, { applyDdl, version: () => state.version, onApplied });
      return pending;
    },
    migrationStatus: async (files) => migrationStatus(files, (await reload()).migrations),
    describe: async () => describeDefinitions(await reload()),
    parseKey,
    requireAggregate: aggregateOf,
    readRow: async (aggregate, keyText) =>
      readRow(store, aggregate, await parseKey(aggregate, keyText, 'key')),
    query: async (sql, params, rowsMax = sqlRowsMax) => {
      assert(rowsMax > 0, 'a row limit is positive');
      return store.query({
        sql,
        params,
        rowsMax: Math.min(rowsMax, sqlRowsMax),
        timeoutMs: sqlTimeoutMs,
      });
    },
    openChanges: (request, signal) =>
      openAggregateChanges(engine, options.log, waiter, request, signal),
  };
  return engine;
}

/** The SQL bounds of the options, checked. */
function sqlLimits(options: DefinitionsEngineOptions): {
  sqlTimeoutMs: number;
  sqlRowsMax: number;
} {
  const sqlTimeoutMs = options.sqlTimeoutMs ?? sqlTimeoutMsDefault;
  const sqlRowsMax = options.sqlRowsMax ?? sqlRowsMaxDefault;
  assert(Number.isSafeInteger(sqlTimeoutMs) && sqlTimeoutMs > 0, 'sqlTimeoutMs is positive');
  assert(Number.isSafeInteger(sqlRowsMax) && sqlRowsMax > 0, 'sqlRowsMax is positive');
  return { sqlTimeoutMs, sqlRowsMax };
}

/**
 * Applies checked migrations in order, each at the definitions version the check assumed: a change another process
 * made in between fails it with `AEV_DEFINITIONS_CHANGED` (and one that applied the same file, with
 * `AEV_MIGRATION_INVALID`) rather than applying it on definitions it was not checked against.
 */
async function applyMigrations(
  pending: readonly MigrationFile[],
  context: {
    readonly applyDdl: DefinitionsEngine['applyDdl'];
    readonly version: () => number;
    readonly onApplied: Parameters<DefinitionsEngine['migrate']>[1];
  },
): Promise<void> {
  for (const file of pending) {
    const migration = { name: file.name, checksum: file.checksum };
    const expectedVersion = context.version();
    const result = await context
      .applyDdl(file.ddl, { migration, expectedVersion })
      .catch((error: unknown) => {
        throw inFile(error, file);
      });
    context.onApplied?.(file, result);
  }
}

async function readRow(store: AggregateStore, aggregate: string, key: Value): Promise<Row> {
  const row = await store.readRow(aggregate, key);
  if (row === null) throw notFound(`aggregate ${aggregate} row ${JSON.stringify(key)}`);
  return row;
}

interface WriteContext {
  readonly store: AggregateStore;
  readonly clock: Clock;
  readonly random: Random;
  readonly reload: () => Promise<DefinitionsState>;
  readonly get: () => DefinitionsState;
}

async function writeTyped(
  input: TypedEventInput,
  context: WriteContext,
): Promise<TypedWriteResult> {
  const { store, clock, random } = context;
  const id = input.id ?? randomUuid(random);
  for (let attempt = 0; ; attempt += 1) {
    const state = context.get();
    const now = formatTimestamp(clock.nowMs());
    const validated = validateEventInput(state, {
      stream: input.stream,
      eventType: input.eventType,
      body: input.body,
      pathValues: input.pathValues,
      now,
      randomUuid: () => randomUuid(random),
    });
    try {
      return await store.appendTyped(
        toTypedWrite(validated, {
          definitionsVersion: state.version,
          expected: input.expected ?? 'any',
          id,
          at: now,
        }),
      );
    } catch (error) {
      if (!isAevonError(error, 'AEV_DEFINITIONS_CHANGED') || attempt >= definitionsRetriesMax) {
        throw error;
      }
      await context.reload();
    }
  }
}

/** The definitions in force as DDL text: aggregates first (event types name them), then event types, then streams. */
export function describeDefinitions(state: DefinitionsState): DefinitionsView {
  const statements: Statement[] = [
    ...state.catalog.aggregates.values(),
    ...state.catalog.eventTypes.values(),
    ...state.catalog.streams.values(),
  ];
  return {
    version: state.version,
    ddl: statements.length === 0 ? '' : formatDdl(statements),
    migrations: state.migrations,
  };
}

/** A key given as text (a path segment), read as PostgreSQL reads a string constant of the key's type. */
function coerceKey(
  state: DefinitionsState,
  aggregate: AggregateDefinition,
  keyText: string,
  field: string,
): Value {
  const column = aggregate.columns.find((candidate) => candidate.primaryKey === true);
  assert(column !== undefined, 'a checked aggregate has a primary key');
  const coerced = coerceFromText(columnType(state.catalog, aggregate.name, column), keyText);
  if (coerced.ok) return coerced.value;
  throw new AevonError('AEV_REQUEST_INVALID', {
    reason: `not a key of ${aggregate.name} (${column.name}): ${coerced.reason}`,
    field,
  });
}

/**
 * Checks the pending migrations in order before any is applied: each file's DDL against the definitions the ones
 * before it leave, and each step that old events cannot take by the default rule against the upcasters given.
 * @throws AEV_MIGRATION_INVALID naming the file (its DDL's line and column, or the upcaster it needs).
 */
function checkMigrations(
  start: DefinitionsState,
  pending: readonly MigrationFile[],
  upcasters: Upcasters,
): void {
  let state = start;
  for (const file of pending) {
    const migration = { name: file.name, checksum: file.checksum };
    let applied: ReturnType<typeof applyDefinitionsChange>;
    try {
      applied = applyDefinitionsChange(state, { ddl: file.ddl, migration });
    } catch (error) {
      throw inFile(error, file);
    }
    for (const { eventType, fromVersion } of upcastersNeeded(state, applied.changes)) {
      if (upcasters.get(eventType)?.has(fromVersion) === true) continue;
      throw new AevonError('AEV_MIGRATION_INVALID', {
        reason:
          `${file.name}.sql: old ${eventType} events do not read as version ${fromVersion + 1}; ` +
          `export an upcaster from ${file.name}.upcast.mjs: { ${eventType}: { ${fromVersion}: (data) => ... } }`,
        file: file.file,
      });
    }
    state = applied.state;
  }
}

function notFound(resource: string): AevonError<'AEV_NOT_FOUND'> {
  return new AevonError('AEV_NOT_FOUND', { resource });
}

/** An error of a migration's DDL, with the file named (DDL errors carry line and column in the file). */
function inFile(error: unknown, file: MigrationFile): unknown {
  if (isAevonError(error, 'AEV_DDL_INVALID')) {
    const { line, column } = error.details;
    const where = line === undefined ? '' : `:${line}${column === undefined ? '' : `:${column}`}`;
    return new AevonError(
      'AEV_MIGRATION_INVALID',
      { reason: `${file.name}.sql${where}: ${error.details.reason}`, file: file.file },
      { cause: error },
    );
  }
  return error;
}
