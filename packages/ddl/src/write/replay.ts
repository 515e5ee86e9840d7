import { AevonError, AssertionError, assert } from '@aevon/core';
import type { RecordedEvent } from '@aevon/core';
import type { Catalog } from '../catalog.js';
import type { AggregateDefinition } from '../model.js';
import type { DefinitionsState, Row, Upcasters, Value } from '../store/aggregate-store.js';
import { foreignKeys, planRowChanges, rowProblems } from './plan-rows.js';
import type { RowOperation } from './plan-rows.js';
import { aggregateConflict, missingRowConflict } from './conflicts.js';
import { upcastEventData } from './upcast.js';
import { keyJson, own, valueText } from './values.js';
import { sameValue } from './validate-event.js';

/** Aggregate tables in memory: aggregate name → canonical key JSON ({@link keyJson}) → row. */
export type RowTables = Map<string, Map<string, Row>>;

/** What one operation did to one row. */
export interface AppliedRowChange {
  readonly aggregate: string;
  readonly key: Value;
  readonly operation: 'insert' | 'update';
  readonly before: Row | null;
  readonly after: Row;
}

/** The changes one event's operations made, or the first constraint they broke (and then nothing changed). */
export type RowOperationsOutcome =
  | { readonly ok: true; readonly changes: readonly AppliedRowChange[] }
  | { readonly ok: false; readonly conflict: AevonError<'AEV_AGGREGATE_CONFLICT'> };

type Conflict = AevonError<'AEV_AGGREGATE_CONFLICT'>;

/**
 * The rows one event writes, over the tables as they were: reads see the staged rows first, and nothing reaches the
 * tables until {@link RowStaging.commit}, so that an event that fails half-way changes nothing.
 */
class RowStaging {
  private readonly staged = new Map<string, Map<string, Row>>();

  constructor(
    private readonly tables: RowTables,
    readonly catalog: Catalog,
  ) {}

  definition(name: string): AggregateDefinition {
    const definition = this.catalog.aggregates.get(name);
    assert(definition !== undefined, `aggregate "${name}" is not defined`);
    return definition;
  }

  keyColumn(name: string): string {
    const column = this.definition(name).columns.find((c) => c.primaryKey === true);
    assert(column !== undefined, `aggregate "${name}" has no primary key`);
    return column.name;
  }

  get(aggregate: string, key: string): Row | undefined {
    return this.staged.get(aggregate)?.get(key) ?? this.tables.get(aggregate)?.get(key);
  }

  /** Every row of an aggregate, staged rows in place of the ones they replace. */
  *entries(aggregate: string): Iterable<readonly [string, Row]> {
    const staged = this.staged.get(aggregate);
    for (const [key, row] of this.tables.get(aggregate) ?? []) yield [key, staged?.get(key) ?? row];
    for (const [key, row] of staged ?? []) {
      if (this.tables.get(aggregate)?.has(key) !== true) yield [key, row];
    }
  }

  /** The row of `aggregate` whose `column` equals `value` (by key for the primary key), as [key, row]. */
  find(aggregate: string, column: string, value: Value): readonly [string, Row] | undefined {
    if (this.keyColumn(aggregate) === column) {
      const key = keyJson(value);
      const row = this.get(aggregate, key);
      return row === undefined ? undefined : [key, row];
    }
    for (const entry of this.entries(aggregate)) {
      if (sameValue(own(entry[1], column), value)) return entry;
    }
    return undefined;
  }

  set(aggregate: string, key: string, row: Row): void {
    let rows = this.staged.get(aggregate);
    if (rows === undefined) {
      rows = new Map();
      this.staged.set(aggregate, rows);
    }
    rows.set(key, row);
  }

  commit(): void {
    for (const [aggregate, rows] of this.staged) {
      let table = this.tables.get(aggregate);
      if (table === undefined) {
        table = new Map();
        this.tables.set(aggregate, table);
      }
      for (const [key, row] of rows) table.set(key, row);
    }
    this.staged.clear();
  }
}

/** The first constraint a new or changed row breaks, given the other rows: NOT NULL, REFERENCES, UNIQUE. */
function rowConflict(
  staging: RowStaging,
  aggregate: string,
  key: string,
  row: Row,
): Conflict | undefined {
  const definition = staging.definition(aggregate);
  const problem = rowProblems(definition, row)[0];
  if (problem !== undefined)
    return aggregateConflict(aggregate, problem.column, 'not_null', problem.reason);
  for (const fk of foreignKeys(definition, row)) {
    // A row may reference itself (a tree's root): it counts as existing.
    const itself = fk.aggregate === aggregate && sameValue(own(row, fk.target), fk.value);
    if (!itself && staging.find(fk.aggregate, fk.target, fk.value) === undefined) {
      return aggregateConflict(
        aggregate,
        fk.column,
        'references',
        `${aggregate}.${fk.column} names ${fk.aggregate} ${fk.target} = ${valueText(fk.value)}, ` +
          'which does not exist',
      );
    }
  }
  for (const column of definition.columns) {
    const value = own(row, column.name);
    if (column.unique !== true || value === null) continue;
    for (const [otherKey, other] of staging.entries(aggregate)) {
      if (otherKey === key || !sameValue(own(other, column.name), value)) continue;
      return aggregateConflict(
        aggregate,
        column.name,
        'unique',
        `${aggregate}.${column.name} = ${valueText(value)} is taken`,
      );
    }
  }
  return undefined;
}

/** Applies one operation to the staging, recording its change; a conflict leaves the staging as it was. */
function applyOne(
  staging: RowStaging,
  operation: RowOperation,
  changes: AppliedRowChange[],
): Conflict | undefined {
  const { aggregate } = operation;
  if (operation.kind === 'require') {
    const found = staging.find(aggregate, operation.column, operation.value);
    return found === undefined
      ? missingRowConflict(aggregate, operation.column, operation.value)
      : undefined;
  }
  const keyColumn = staging.keyColumn(aggregate);
  if (operation.kind === 'insert') {
    const key = keyJson(operation.key);
    if (operation.key === null) {
      return aggregateConflict(
        aggregate,
        keyColumn,
        'not_null',
        `${aggregate}.${keyColumn} must not be null`,
      );
    }
    if (staging.get(aggregate, key) !== undefined) {
      const reason = `${aggregate} ${keyColumn} = ${valueText(operation.key)} exists already`;
      return aggregateConflict(aggregate, keyColumn, 'exists', reason);
    }
    const failed = rowConflict(staging, aggregate, key, operation.row);
    if (failed !== undefined) return failed;
    staging.set(aggregate, key, operation.row);
    changes.push({
      aggregate,
      key: operation.key,
      operation: 'insert',
      before: null,
      after: operation.row,
    });
    return undefined;
  }
  const found = staging.find(aggregate, operation.column, operation.value);
  if (found === undefined) return missingRowConflict(aggregate, operation.column, operation.value);
  const [key, before] = found;
  const after = { ...before, ...operation.set };
  const failed = rowConflict(staging, aggregate, key, after);
  if (failed !== undefined) return failed;
  staging.set(aggregate, key, after);
  changes.push({ aggregate, key: own(after, keyColumn), operation: 'update', before, after });
  return undefined;
}

/**
 * Applies the operations of one event to in-memory tables, all or nothing, with the conflict rules every store
 * follows: `insert` of a taken key → `exists`; `require` or `update` of a missing row, or a REFERENCES column naming a
 * missing row → `references`; a NOT NULL column null → `not_null`; a UNIQUE column value taken → `unique`. On a
 * conflict `tables` is unchanged. Tables of aggregates missing from `tables` are created.
 */
export function applyRowOperations(
  tables: RowTables,
  operations: readonly RowOperation[],
  catalog: Catalog,
): RowOperationsOutcome {
  const staging = new RowStaging(tables, catalog);
  const changes: AppliedRowChange[] = [];
  for (const operation of operations) {
    const failed = applyOne(staging, operation, changes);
    if (failed !== undefined) return { ok: false, conflict: failed };
  }
  staging.commit();
  return { ok: true, changes };
}

/**
 * The reference model of aggregate tables: every typed event of the log, read as its event type's current version
 * ({@link upcastEventData}), planned ({@link planRowChanges}) and applied in memory ({@link applyRowOperations}).
 * Events whose type is not a defined event type (definitions, metering, untyped events) and events with schema
 * version 0 (written without a type) are skipped. A conflict means the log and the definitions disagree: a bug, so
 * it throws an assertion error.
 */
export function replayRows(
  state: DefinitionsState,
  events: Iterable<RecordedEvent>,
  upcasters: Upcasters,
): Map<string, Map<string, Row>> {
  const tables: RowTables = new Map();
  for (const name of state.catalog.aggregates.keys()) tables.set(name, new Map());
  for (const event of events) {
    if (!state.catalog.eventTypes.has(event.type) || event.schemaVersion < 1) continue;
    const operations = replayOperations(state, upcasters, event);
    const outcome = applyRowOperations(tables, operations, state.catalog);
    if (!outcome.ok) {
      throw new AssertionError(
        `replaying event ${event.id} (${event.type}): ${outcome.conflict.message}`,
      );
    }
  }
  return tables;
}

/** The parts of a logged event a replay reads (a `RecordedEvent` has them). */
export interface LoggedEvent {
  readonly id: string;
  readonly type: string;
  readonly schemaVersion: number;
  readonly data: Row;
  readonly recordedAt: string;
}

/**
 * What an event already in the log does to the aggregates under the definitions in force: its data read as its event
 * type's current version (`upcastEventData`), then planned (`planRowChanges`). Every rebuild and replay goes through
 * here. Upcasters are the application's code: one that throws fails with `AEV_MIGRATION_INVALID` naming the event,
 * rather than passing for a storage failure.
 */
export function replayOperations(
  state: DefinitionsState,
  upcasters: Upcasters,
  event: LoggedEvent,
): readonly RowOperation[] {
  let data: Row;
  try {
    data = upcastEventData(
      state,
      upcasters,
      event.type,
      event.schemaVersion,
      event.data,
      event.recordedAt,
    );
  } catch (error) {
    if (error instanceof AevonError || error instanceof AssertionError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new AevonError(
      'AEV_MIGRATION_INVALID',
      {
        reason: `the upcaster of event type "${event.type}" failed on event ${event.id} (version ${event.schemaVersion}): ${message}`,
      },
      { cause: error },
    );
  }
  return planRowChanges(state.catalog, event.type, data, {
    eventId: event.id,
    recordedAt: event.recordedAt,
  });
}
