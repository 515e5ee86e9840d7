import { AevonError, AssertionError } from '@aevon/core';
import type { RecordedEvent } from '@aevon/core';
import type { Catalog } from '../catalog.js';
import type { AggregateDefinition } from '../model.js';
import type { DefinitionsState, Row, Upcasters, Value } from '../store/aggregate-store.js';
import { foreignKeys, planRowChanges, rowProblems } from './plan-rows.js';
import type { RowOperation } from './plan-rows.js';
import { upcastEventData } from './upcast.js';
import { keyJson, valueText } from './values.js';
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

export type RowOperationsOutcome =
  | { readonly ok: true; readonly changes: readonly AppliedRowChange[] }
  | { readonly ok: false; readonly conflict: AevonError<'AEV_AGGREGATE_CONFLICT'> };

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
  // Staged rows by aggregate; committed only when every operation passes.
  const staged = new Map<string, Map<string, Row>>();
  const changes: AppliedRowChange[] = [];
  const rowsOf = (aggregate: string): Map<string, Row> => {
    let rows = staged.get(aggregate);
    if (rows === undefined) {
      rows = new Map(tables.get(aggregate) ?? []);
      staged.set(aggregate, rows);
    }
    return rows;
  };
  const conflict = (
    aggregate: string,
    column: string,
    constraint: 'exists' | 'references' | 'unique' | 'not_null',
    reason: string,
  ): RowOperationsOutcome => ({
    ok: false,
    conflict: new AevonError('AEV_AGGREGATE_CONFLICT', { aggregate, column, constraint, reason }),
  });
  const definitionOf = (name: string): AggregateDefinition => {
    const definition = catalog.aggregates.get(name);
    if (definition === undefined) throw new AssertionError(`aggregate "${name}" is not defined`);
    return definition;
  };
  const find = (aggregate: string, column: string, value: Value): [string, Row] | undefined => {
    const definition = definitionOf(aggregate);
    const rows = rowsOf(aggregate);
    if (definition.columns.find((c) => c.primaryKey === true)?.name === column) {
      const key = keyJson(value);
      const row = rows.get(key);
      return row === undefined ? undefined : [key, row];
    }
    for (const entry of rows) if (sameValue(entry[1][column] ?? null, value)) return entry;
    return undefined;
  };
  /** The first constraint a new or changed row breaks, given the other rows. */
  const check = (
    definition: AggregateDefinition,
    key: string,
    row: Row,
  ): RowOperationsOutcome | undefined => {
    const problem = rowProblems(definition, row)[0];
    if (problem !== undefined)
      return conflict(definition.name, problem.column, 'not_null', problem.reason);
    for (const fk of foreignKeys(definition, row)) {
      const target =
        fk.aggregate === definition.name && sameValue(row[fk.target] ?? null, fk.value);
      if (!target && find(fk.aggregate, fk.target, fk.value) === undefined) {
        return conflict(
          definition.name,
          fk.column,
          'references',
          `${definition.name}.${fk.column} names ${fk.aggregate} ${fk.target} = ${valueText(fk.value)}, which does not exist`,
        );
      }
    }
    for (const column of definition.columns) {
      if (column.unique !== true) continue;
      const value = row[column.name] ?? null;
      if (value === null) continue;
      for (const [otherKey, other] of rowsOf(definition.name)) {
        if (otherKey !== key && sameValue(other[column.name] ?? null, value)) {
          return conflict(
            definition.name,
            column.name,
            'unique',
            `${definition.name}.${column.name} = ${valueText(value)} is taken`,
          );
        }
      }
    }
    return undefined;
  };
  for (const operation of operations) {
    const definition = definitionOf(operation.aggregate);
    const rows = rowsOf(operation.aggregate);
    if (operation.kind === 'require') {
      if (find(operation.aggregate, operation.column, operation.value) === undefined) {
        return conflict(
          operation.aggregate,
          operation.column,
          'references',
          `no ${operation.aggregate} row has ${operation.column} = ${valueText(operation.value)}`,
        );
      }
    } else if (operation.kind === 'insert') {
      const key = keyJson(operation.key);
      const keyColumn = definition.columns.find((c) => c.primaryKey === true)?.name ?? '';
      if (operation.key === null) {
        return conflict(
          operation.aggregate,
          keyColumn,
          'not_null',
          `${operation.aggregate}.${keyColumn} must not be null`,
        );
      }
      if (rows.has(key)) {
        return conflict(
          operation.aggregate,
          keyColumn,
          'exists',
          `${operation.aggregate} ${keyColumn} = ${valueText(operation.key)} exists already`,
        );
      }
      const failed = check(definition, key, operation.row);
      if (failed !== undefined) return failed;
      rows.set(key, operation.row);
      changes.push({
        aggregate: operation.aggregate,
        key: operation.key,
        operation: 'insert',
        before: null,
        after: operation.row,
      });
    } else {
      const found = find(operation.aggregate, operation.column, operation.value);
      if (found === undefined) {
        return conflict(
          operation.aggregate,
          operation.column,
          'references',
          `no ${operation.aggregate} row has ${operation.column} = ${valueText(operation.value)}`,
        );
      }
      const [key, before] = found;
      const after = { ...before, ...operation.set };
      const failed = check(definition, key, after);
      if (failed !== undefined) return failed;
      rows.set(key, after);
      const keyColumn = definition.columns.find((c) => c.primaryKey === true)?.name ?? '';
      changes.push({
        aggregate: operation.aggregate,
        key: after[keyColumn] ?? null,
        operation: 'update',
        before,
        after,
      });
    }
  }
  for (const [aggregate, rows] of staged) tables.set(aggregate, rows);
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
    const data = upcastEventData(
      state,
      upcasters,
      event.type,
      event.schemaVersion,
      event.data,
      event.recordedAt,
    );
    const operations = planRowChanges(state.catalog, event.type, data, {
      eventId: event.id,
      recordedAt: event.recordedAt,
    });
    const outcome = applyRowOperations(tables, operations, state.catalog);
    if (!outcome.ok) {
      throw new AssertionError(
        `replaying event ${event.id} (${event.type}): ${outcome.conflict.message}`,
      );
    }
  }
  return tables;
}
