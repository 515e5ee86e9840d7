import type { AevonError } from '@aevon/core';
import { assert } from '@aevon/core';
import type { AggregateDefinition, DefinitionsState, Row, Upcasters, Value } from '@aevon/ddl';
import { aggregateConflict, keyJson, replayOperations, rowProblems, sameValue } from '@aevon/ddl';
import type { ClientBase } from 'pg';
import { formatPostgresPosition } from '../position.js';
import { constraintOf, sqlState } from '../postgres-error.js';
import type { Tables } from '../queries/tables.js';
import type { AggregateNames } from './aggregate-tables.js';
import {
  columnOfConstraint,
  createAggregateTable,
  isSerialColumn,
  tableOf,
} from './aggregate-tables.js';

/** Events read per page while replaying the log. */
export const replayPageEventsMax = 1000;
/** Rows written per INSERT when a rebuilt table is filled. */
export const rebuildInsertRowsMax = 1000;

/** The rows of one aggregate being rebuilt, by canonical key JSON, with lookups by its UNIQUE columns. */
class RebuildTable {
  readonly rows = new Map<string, Row>();
  private readonly keyColumn: string;

  constructor(readonly definition: AggregateDefinition) {
    const key = definition.columns.find((c) => c.primaryKey === true);
    assert(key !== undefined, `aggregate "${definition.name}" has a primary key`);
    this.keyColumn = key.name;
  }

  insert(key: Value, row: Row): void {
    if (key === null) return;
    this.rows.set(keyJson(key), row);
  }

  update(column: string, value: Value, set: Row): void {
    const found = this.find(column, value);
    if (found === undefined) return;
    this.rows.set(found, { ...this.rows.get(found), ...set });
  }

  private find(column: string, value: Value): string | undefined {
    if (column === this.keyColumn) {
      const key = keyJson(value);
      return this.rows.has(key) ? key : undefined;
    }
    for (const [key, row] of this.rows) if (sameValue(row[column] ?? null, value)) return key;
    return undefined;
  }
}

/**
 * (Re)creates the tables of `targets` and fills them by replaying the log: every event of an event type that links
 * to one of them, in log order, read as its type's current version (`upcastEventData`, which throws
 * `AEV_MIGRATION_INVALID` when an upcaster is missing), planned with `planRowChanges` and applied in memory; then the
 * final rows are checked (NOT NULL, UNIQUE) and written, and each serial key counter raised to the largest key.
 *
 * Runs inside the definitions change's transaction, which holds the definitions lock exclusively: no typed write is
 * in flight, so the log read here is complete. The rows of the rebuilt aggregates are held in memory meanwhile.
 * @throws AEV_AGGREGATE_CONFLICT when the replayed rows break the new definition (a NULL in a NOT NULL column, a
 *   repeated UNIQUE value); AEV_MIGRATION_INVALID when an old event needs an upcaster that is missing.
 */
export async function rebuildTables(
  client: ClientBase,
  names: AggregateNames,
  tables: Tables,
  state: DefinitionsState,
  targets: readonly string[],
  upcasters: Upcasters,
): Promise<void> {
  const rebuilding = new Map<string, RebuildTable>();
  for (const name of targets) {
    const definition = state.catalog.aggregates.get(name);
    assert(definition !== undefined, `rebuilt aggregate "${name}" is defined`);
    await client.query(`DROP TABLE IF EXISTS ${tableOf(names, name)}`);
    await createAggregateTable(client, names, state.catalog, definition);
    rebuilding.set(name, new RebuildTable(definition));
  }
  const eventTypes = [...state.catalog.eventTypes.values()]
    .filter((type) =>
      type.fields.some((f) => f.link !== undefined && rebuilding.has(f.link.aggregate)),
    )
    .map((type) => type.name);
  if (eventTypes.length > 0) {
    await replay(client, tables, eventTypes, (event) => {
      const operations = replayOperations(state, upcasters, event);
      for (const operation of operations) {
        const table = rebuilding.get(operation.aggregate);
        if (table === undefined) continue;
        if (operation.kind === 'insert') table.insert(operation.key, operation.row);
        else if (operation.kind === 'update')
          table.update(operation.column, operation.value, operation.set);
      }
    });
  }
  for (const table of rebuilding.values()) await fillTable(client, names, table);
}

interface ReplayedEvent {
  readonly id: string;
  readonly type: string;
  readonly schemaVersion: number;
  readonly data: Row;
  readonly recordedAt: string;
}

/** Reads every event of `eventTypes` with a schema version (typed writes) in log order, page by page. */
async function replay(
  client: ClientBase,
  tables: Tables,
  eventTypes: readonly string[],
  apply: (event: ReplayedEvent) => void,
): Promise<void> {
  let after: { txId: string; seq: string } | null = null;
  for (;;) {
    const params: unknown[] = [eventTypes, replayPageEventsMax];
    let bound = '';
    if (after !== null) {
      params.push(after.txId, after.seq);
      bound = 'AND (tx_id, seq) > ($3::xid8, $4::bigint)';
    }
    const result = await client.query<{
      id: string;
      type: string;
      schema_version: number;
      data: Row;
      recorded_at: string;
      tx_id: string;
      seq: string;
    }>(
      `SELECT id, type, schema_version, data, recorded_at, tx_id::text AS tx_id, seq::text AS seq
       FROM ${tables.events} AS e
       WHERE type = ANY($1::text[]) AND schema_version >= 1 ${bound}
       ORDER BY e.tx_id, e.seq LIMIT $2`,
      params,
    );
    let previous: string | null = null;
    for (const row of result.rows) {
      const position = formatPostgresPosition(row.tx_id, row.seq);
      if (previous !== null) assert(position > previous, 'replayed events are in log order');
      previous = position;
      apply({
        id: row.id,
        type: row.type,
        schemaVersion: row.schema_version,
        data: row.data,
        recordedAt: row.recorded_at,
      });
    }
    const last = result.rows[result.rows.length - 1];
    if (last === undefined || result.rows.length < replayPageEventsMax) return;
    after = { txId: last.tx_id, seq: last.seq };
  }
}

async function fillTable(
  client: ClientBase,
  names: AggregateNames,
  table: RebuildTable,
): Promise<void> {
  const { definition } = table;
  const rows = [...table.rows.values()];
  for (const row of rows) {
    const problem = rowProblems(definition, row)[0];
    if (problem !== undefined) {
      throw rebuildConflict(definition.name, problem.column, 'not_null', problem.reason);
    }
  }
  const target = tableOf(names, definition.name);
  for (let start = 0; start < rows.length; start += rebuildInsertRowsMax) {
    const chunk = rows.slice(start, start + rebuildInsertRowsMax);
    try {
      await client.query(
        `INSERT INTO ${target} SELECT * FROM jsonb_populate_recordset(NULL::${target}, $1::jsonb)`,
        [JSON.stringify(chunk)],
      );
    } catch (error) {
      const column =
        sqlState(error) === '23505'
          ? columnOfConstraint(definition, constraintOf(error) ?? '')
          : undefined;
      if (column === undefined) throw error;
      throw rebuildConflict(
        definition.name,
        column,
        'unique',
        `two rows have the same ${definition.name}.${column}, which is UNIQUE`,
      );
    }
  }
  await raiseKeyCounters(client, names, definition, rows);
}

/** Raises each serial primary key's counter to the largest key of the rebuilt rows (never lowers it). */
async function raiseKeyCounters(
  client: ClientBase,
  names: AggregateNames,
  definition: AggregateDefinition,
  rows: readonly Row[],
): Promise<void> {
  for (const column of definition.columns) {
    if (column.primaryKey !== true || !isSerialColumn(column)) continue;
    let max = 0n;
    for (const row of rows) {
      const key = row[column.name];
      if (typeof key === 'number' || typeof key === 'string') {
        const value = BigInt(key);
        if (value > max) max = value;
      }
    }
    await client.query(
      `INSERT INTO ${names.keys} AS k (aggregate, column_name, last_key) VALUES ($1, $2, $3::bigint)
       ON CONFLICT (aggregate, column_name) DO UPDATE SET last_key = GREATEST(k.last_key, excluded.last_key)`,
      [definition.name, column.name, max.toString()],
    );
  }
}

function rebuildConflict(
  aggregate: string,
  column: string,
  constraint: 'not_null' | 'unique',
  reason: string,
): AevonError<'AEV_AGGREGATE_CONFLICT'> {
  return aggregateConflict(
    aggregate,
    column,
    constraint,
    `rebuilding aggregate "${aggregate}" from the log: ${reason}`,
  );
}
