import { reservedStreamPrefix } from '@aevon/core';
import type { ExpectedRevision, GlobalPosition, RecordedEvent } from '@aevon/core';
import type { Catalog, CatalogChange, DdlWarning } from '../catalog.js';
import type { EventTypeDefinition } from '../model.js';

/**
 * A value of a typed event field or an aggregate column, in its canonical JSON form (docs/reference/ddl.md,
 * "Values"): smallint/integer/serial → number; bigint/bigserial → number when it is a safe integer, else a decimal
 * string; numeric → decimal string; real/double precision → number; boolean → boolean; text/varchar → string;
 * char(n) → string padded with spaces to n; uuid → lower-case string; date → `YYYY-MM-DD`; timestamp →
 * `YYYY-MM-DDTHH:MM:SS[.ffffff]`; timestamptz → the same in UTC with `Z`; jsonb → any JSON value; `type[]` → an array
 * of the element's form. SQL NULL is `null`.
 */
export type Value = null | boolean | number | string | readonly Value[] | JsonObject;
export interface JsonObject {
  readonly [key: string]: unknown;
}

/** An aggregate row or an event's data: column (or field) name → value. */
export type Row = Readonly<Record<string, Value>>;

/** The stream that records every definition change, one event each (`aevon.definitions_changed`). */
export const definitionsStream = `${reservedStreamPrefix}definitions`;
export const definitionsEventType = 'aevon.definitions_changed';

/** The data of one `aevon.definitions_changed` event: the DDL text applied, and the migration file it came from. */
export interface DefinitionsChangedData {
  /** 1 for the first change, +1 for each next one: the {@link DefinitionsState.version} it produced. */
  readonly version: number;
  readonly ddl: string;
  readonly migration?: { readonly name: string; readonly checksum: string };
}

/** A migration file applied, as recorded in the log. */
export interface AppliedMigration {
  readonly name: string;
  readonly checksum: string;
  readonly version: number;
  readonly position: GlobalPosition;
  readonly recordedAt: string;
}

/**
 * The definitions in force: the fold of every `aevon.definitions_changed` event in log order through
 * `checkDefinitions`. `version` counts the changes (0 when none), so that a writer can tell whether its copy is stale.
 * `eventTypeVersions` keeps every version of every event type ever defined (index 0 is version 1), so that an old
 * event can be read as the current version (compatible steps fill defaults; others need an upcaster).
 */
export interface DefinitionsState {
  readonly version: number;
  readonly catalog: Catalog;
  /** `checkDefinitions`' per-definition versions, keyed `aggregate:name`, `event_type:name`, `stream:name`. */
  readonly versions: ReadonlyMap<string, number>;
  readonly eventTypeVersions: ReadonlyMap<string, readonly EventTypeDefinition[]>;
  readonly migrations: readonly AppliedMigration[];
}

/**
 * Turns the data of an event of `eventType` written at version `fromVersion` into version `fromVersion + 1`. Needed
 * for every step whose change is not compatible (`impact: 'upcaster'`); pure and deterministic (it runs again at every
 * rebuild).
 */
export type UpcastFunction = (data: Readonly<Record<string, unknown>>) => Record<string, unknown>;
/** event type name → from-version → function. */
export type Upcasters = ReadonlyMap<string, ReadonlyMap<number, UpcastFunction>>;

/** A request to change the definitions, applied atomically with its log event and every table change it implies. */
export interface DefinitionsChangeRequest {
  /** The DDL text as given; it is what the log records. */
  readonly ddl: string;
  /** The migration file this change comes from, if any; its name must not be applied yet. */
  readonly migration?: { readonly name: string; readonly checksum: string };
  /** Apply only if the stored definitions are at this version; otherwise `AEV_DEFINITIONS_CHANGED`. Default: any. */
  readonly expectedVersion?: number;
  /** The event's id (a UUID) and server time. */
  readonly eventId: string;
  readonly recordedAt: string;
  /** Used to read old events when an aggregate table is rebuilt. */
  readonly upcasters: Upcasters;
}

export interface DefinitionsChangeResult {
  readonly state: DefinitionsState;
  readonly changes: readonly CatalogChange[];
  readonly warnings: readonly DdlWarning[];
  /** Aggregates whose table was created, rebuilt by replaying the log, or dropped. */
  readonly created: readonly string[];
  readonly rebuilt: readonly string[];
  readonly dropped: readonly string[];
  /** The definitions event. */
  readonly event: RecordedEvent;
}

/**
 * One typed event to write, already validated by `validateEventInput` against the definitions at `definitionsVersion`.
 * `data` holds every field of the event type (null when absent) except the keys the store generates
 * (`keysToGenerate`, serial `creates` keys the caller left out).
 */
export interface TypedWrite {
  readonly definitionsVersion: number;
  /** The stream definition's name (`account_events`), not the stream id. */
  readonly stream: string;
  readonly eventType: string;
  readonly schemaVersion: number;
  readonly data: Row;
  readonly keysToGenerate: readonly KeyToGenerate[];
  readonly expected: ExpectedRevision;
  readonly id: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly occurredAt: string;
  readonly recordedAt: string;
  readonly correlationId: string | null;
  readonly causationId: string | null;
}

/** A serial key the store draws from the aggregate column's sequence and writes into the event's `field`. */
export interface KeyToGenerate {
  readonly field: string;
  readonly aggregate: string;
  readonly column: string;
}

export interface TypedWriteResult {
  /** The event as stored: its data holds the generated keys; its stream id is the stream path filled from the data. */
  readonly event: RecordedEvent;
  /** Every `creates` field of the event: field → the key of the row it created (generated or given). */
  readonly created: Row;
  readonly changes: readonly RowChange[];
}

/** What a typed event did to one aggregate row, recorded in the same transaction (the aggregate change feed). */
export interface RowChange {
  /** The position of the event that made the change; changes of one event share it and keep their order. */
  readonly position: GlobalPosition;
  readonly eventId: string;
  readonly aggregate: string;
  readonly key: Value;
  readonly operation: 'insert' | 'update';
  readonly before: Row | null;
  readonly after: Row;
}

/** A read-only SQL query over the aggregate tables. */
export interface SqlRequest {
  readonly sql: string;
  /** `$1`, `$2`, ... in the text (both engines). */
  readonly params: readonly Value[];
  /** At most this many rows are returned; `truncated` tells whether there were more. */
  readonly rowsMax: number;
  readonly timeoutMs: number;
}

export interface SqlColumn {
  readonly name: string;
  /** The DDL type name when known (`integer`, `varchar(40)`, `timestamptz`), else null. */
  readonly type: string | null;
}

export interface SqlResult {
  readonly columns: readonly SqlColumn[];
  /** One object per row, keyed by column name (names are unique: a duplicate name is refused). */
  readonly rows: readonly Row[];
  readonly truncated: boolean;
}

/** A page of the aggregate change feed: changes after `after` (exclusive) in log order. */
export interface ChangeRange {
  readonly after: GlobalPosition | null;
  readonly limit: number;
  /** Only changes of these aggregates; all when absent. */
  readonly aggregates?: readonly string[];
}

/**
 * Aggregate tables and definitions on one storage engine, next to (and in the same transactions as) its event log.
 * Implementations: `@aevon/sqlite` (`createSqliteAggregateStore`) and `@aevon/postgres`
 * (`createPostgresAggregateStore`); both pass `test/support/aggregate-store-contract.ts`.
 *
 * Contract:
 * - `changeDefinitions` checks the DDL against the stored definitions, appends one `aevon.definitions_changed` event
 *   to {@link definitionsStream}, and creates, alters, rebuilds (by replaying the log through `planRowChanges`, each
 *   event upcast to its event type's current version) or drops tables: all in one transaction, serialized with every
 *   other definitions change and with `appendTyped` (a write validated against an older version fails with
 *   `AEV_DEFINITIONS_CHANGED` and writes nothing).
 * - `appendTyped` generates the missing keys, appends the event to the log (stream id = the stream path filled from
 *   the data) and applies `planRowChanges` (checking references, existence, NOT NULL and UNIQUE) and records each
 *   {@link RowChange}: all in one transaction, or nothing. Errors: `AEV_AGGREGATE_CONFLICT`,
 *   `AEV_STREAM_VERSION_MISMATCH`, `AEV_EVENT_ID_DUPLICATE`, `AEV_DEFINITIONS_CHANGED`, `AEV_STORAGE_UNAVAILABLE`.
 * - `query` runs one read-only SELECT/WITH that reads only aggregate tables, with a row limit and a timeout;
 *   anything else is `AEV_SQL_INVALID`, a timeout `AEV_SQL_TIMEOUT`.
 */
export interface AggregateStore {
  readonly engine: string;
  loadDefinitions(): Promise<DefinitionsState>;
  changeDefinitions(request: DefinitionsChangeRequest): Promise<DefinitionsChangeResult>;
  appendTyped(write: TypedWrite): Promise<TypedWriteResult>;
  /** The row of `aggregate` whose primary key is `key` (in its canonical form), or null. */
  readRow(aggregate: string, key: Value): Promise<Row | null>;
  query(request: SqlRequest): Promise<SqlResult>;
  readChanges(range: ChangeRange): Promise<readonly RowChange[]>;
}
