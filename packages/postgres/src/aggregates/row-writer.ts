import type { GlobalPosition } from '@aevon/core';
import { assert } from '@aevon/core';
import type { AggregateDefinition, Catalog, Row, RowChange, RowOperation, Value } from '@aevon/ddl';
import {
  aggregateConflict,
  foreignKeys,
  missingRowConflict,
  rowProblems,
  sameValue,
  valueText,
} from '@aevon/ddl';
import type { ClientBase } from 'pg';
import { constraintOf, sqlState } from '../postgres-error.js';
import type { AggregateNames } from './aggregate-tables.js';
import { columnOfConstraint, quoteIdent, tableOf } from './aggregate-tables.js';
import { readPgRow, textTypes } from './pg-values.js';

/**
 * The SQL of one column's value given as canonical JSON: PostgreSQL converts it to the column's type exactly as it
 * converts an inserted row (`jsonb_populate_record`), so a key compares equal to the stored one whatever its type.
 */
function valueOf(table: string, column: string, parameter: number): string {
  return `(jsonb_populate_record(NULL::${table}, $${parameter}::jsonb)).${quoteIdent(column)}`;
}

/** What applying one event's operations did, in order. */
export interface AppliedChange {
  readonly aggregate: string;
  readonly key: Value;
  readonly operation: 'insert' | 'update';
  readonly before: Row | null;
  readonly after: Row;
}

/**
 * Applies one typed event's row operations inside the caller's transaction, in order, with the conflict rules of
 * the reference model (`applyRowOperations` in `@aevon/ddl`), checked in the same order: `require` of a missing row
 * and an `update` of one → `references`; `insert` of a null key → `not_null`, of a taken key → `exists`; then for the
 * new row: NOT NULL → `not_null`, each REFERENCES column naming a missing row → `references`, UNIQUE → `unique` (the
 * table's constraint decides; its violation is mapped). The caller holds the aggregates' locks, so what is checked
 * stays true until commit; on a conflict it rolls the whole transaction back, so nothing is written.
 * @throws AEV_AGGREGATE_CONFLICT
 */
export async function applyOperations(
  client: ClientBase,
  names: AggregateNames,
  catalog: Catalog,
  operations: readonly RowOperation[],
): Promise<AppliedChange[]> {
  const changes: AppliedChange[] = [];
  for (const operation of operations) {
    const definition = catalog.aggregates.get(operation.aggregate);
    assert(definition !== undefined, `aggregate "${operation.aggregate}" is defined`);
    switch (operation.kind) {
      case 'require': {
        const found = await findRow(client, names, definition, operation.column, operation.value);
        if (found === null)
          throw missingRowConflict(operation.aggregate, operation.column, operation.value);
        break;
      }
      case 'insert':
        changes.push(
          await insertRow(client, names, catalog, definition, operation.key, operation.row),
        );
        break;
      case 'update':
        changes.push(await updateRow(client, names, catalog, definition, operation));
        break;
    }
  }
  return changes;
}

function primaryKeyOf(definition: AggregateDefinition): string {
  const column = definition.columns.find((c) => c.primaryKey === true);
  assert(column !== undefined, `aggregate "${definition.name}" has a primary key`);
  return column.name;
}

/** The row of `definition` whose `column` equals `value` (locked FOR UPDATE with `lock`), or null. */
async function findRow(
  client: ClientBase,
  names: AggregateNames,
  definition: AggregateDefinition,
  column: string,
  value: Value,
  lock = false,
): Promise<Row | null> {
  const table = tableOf(names, definition.name);
  const result = await client.query({
    text: `SELECT * FROM ${table} WHERE ${quoteIdent(column)} = ${valueOf(table, column, 1)}
           LIMIT 1${lock ? ' FOR UPDATE' : ''}`,
    values: [JSON.stringify({ [column]: value })],
    rowMode: 'array',
    types: textTypes,
  });
  const values = result.rows[0];
  return values === undefined ? null : readPgRow(result.fields, values);
}

async function insertRow(
  client: ClientBase,
  names: AggregateNames,
  catalog: Catalog,
  definition: AggregateDefinition,
  key: Value,
  row: Row,
): Promise<AppliedChange> {
  const keyColumn = primaryKeyOf(definition);
  const name = definition.name;
  if (key === null) {
    throw aggregateConflict(name, keyColumn, 'not_null', `${name}.${keyColumn} must not be null`);
  }
  if ((await findRow(client, names, definition, keyColumn, key)) !== null) {
    throw aggregateConflict(
      name,
      keyColumn,
      'exists',
      `${name} ${keyColumn} = ${valueText(key)} exists already`,
    );
  }
  await checkRow(client, names, catalog, definition, row);
  const table = tableOf(names, name);
  const after = await writeRow(client, definition, row, {
    text: `INSERT INTO ${table} SELECT * FROM jsonb_populate_record(NULL::${table}, $1::jsonb) RETURNING *`,
    values: [JSON.stringify(row)],
  });
  return { aggregate: name, key, operation: 'insert', before: null, after };
}

async function updateRow(
  client: ClientBase,
  names: AggregateNames,
  catalog: Catalog,
  definition: AggregateDefinition,
  operation: Extract<RowOperation, { kind: 'update' }>,
): Promise<AppliedChange> {
  const name = definition.name;
  const before = await findRow(client, names, definition, operation.column, operation.value, true);
  if (before === null) throw missingRowConflict(name, operation.column, operation.value);
  const after: Row = { ...before, ...operation.set };
  await checkRow(client, names, catalog, definition, after);
  const keyColumn = primaryKeyOf(definition);
  const key = before[keyColumn] ?? null;
  const table = tableOf(names, name);
  const columns = Object.keys(operation.set).map(quoteIdent);
  assert(columns.length > 0, 'an update sets at least one column');
  const written = await writeRow(client, definition, after, {
    text: `UPDATE ${table} SET (${columns.join(', ')}) =
             (SELECT ${columns.join(', ')} FROM jsonb_populate_record(NULL::${table}, $1::jsonb))
           WHERE ${quoteIdent(keyColumn)} = ${valueOf(table, keyColumn, 2)} RETURNING *`,
    values: [JSON.stringify(operation.set), JSON.stringify({ [keyColumn]: key })],
  });
  return { aggregate: name, key, operation: 'update', before, after: written };
}

/** NOT NULL, then every REFERENCES column of the new row, as the reference model checks them (UNIQUE is the table's). */
async function checkRow(
  client: ClientBase,
  names: AggregateNames,
  catalog: Catalog,
  definition: AggregateDefinition,
  row: Row,
): Promise<void> {
  const problem = rowProblems(definition, row)[0];
  if (problem !== undefined) {
    throw aggregateConflict(definition.name, problem.column, 'not_null', problem.reason);
  }
  for (const fk of foreignKeys(definition, row)) {
    // A row may name itself (a self-reference to its own key).
    if (fk.aggregate === definition.name && sameValue(row[fk.target] ?? null, fk.value)) continue;
    const target = catalog.aggregates.get(fk.aggregate);
    assert(target !== undefined, `referenced aggregate "${fk.aggregate}" is defined`);
    if ((await findRow(client, names, target, fk.target, fk.value)) === null) {
      throw aggregateConflict(
        definition.name,
        fk.column,
        'references',
        `${definition.name}.${fk.column} names ${fk.aggregate} ${fk.target} = ${valueText(fk.value)}, which does not exist`,
      );
    }
  }
}

/** Runs an INSERT or UPDATE ... RETURNING * and reads the row back; a UNIQUE violation becomes a conflict. */
async function writeRow(
  client: ClientBase,
  definition: AggregateDefinition,
  row: Row,
  query: { text: string; values: unknown[] },
): Promise<Row> {
  try {
    const result = await client.query({ ...query, rowMode: 'array', types: textTypes });
    const values = result.rows[0];
    assert(result.rows.length === 1 && values !== undefined, 'one row is written');
    return readPgRow(result.fields, values);
  } catch (error) {
    if (sqlState(error) !== '23505') throw error;
    const column = columnOfConstraint(definition, constraintOf(error) ?? '');
    if (column === undefined) throw error;
    const primaryKey = definition.columns.find((c) => c.name === column)?.primaryKey === true;
    const value = row[column] ?? null;
    throw primaryKey
      ? aggregateConflict(
          definition.name,
          column,
          'exists',
          `${definition.name} ${column} = ${valueText(value)} exists already`,
        )
      : aggregateConflict(
          definition.name,
          column,
          'unique',
          `${definition.name}.${column} = ${valueText(value)} is taken`,
        );
  }
}

/** The row changes of one event, as the change feed records them, at the event's position. */
export function rowChangesAt(
  position: GlobalPosition,
  eventId: string,
  applied: readonly AppliedChange[],
): RowChange[] {
  return applied.map((change) => ({ position, eventId, ...change }));
}
