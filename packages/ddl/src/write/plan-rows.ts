import { assert } from '@aevon/core';
import { columnType } from '../catalog.js';
import type { Catalog } from '../catalog.js';
import { isNotNull } from '../check-statement.js';
import { storageType } from '../data-type.js';
import type { AggregateDefinition } from '../model.js';
import type { Row, Value } from '../store/aggregate-store.js';
import { columnDefaultUuid } from './uuid.js';
import { evaluateDefault, own, put } from './values.js';

/** One change a typed event makes to an aggregate table, in the order they apply. */
export type RowOperation =
  /** `references`: the row of `aggregate` whose `column` is `value` must exist. */
  | {
      readonly kind: 'require';
      readonly aggregate: string;
      readonly column: string;
      readonly value: Value;
      readonly field: string;
    }
  /** `creates`: a new row with primary key `key`; `row` has every column (defaults filled). */
  | {
      readonly kind: 'insert';
      readonly aggregate: string;
      readonly key: Value;
      readonly row: Row;
      readonly field: string;
    }
  /** `updates` with a `references` field: set `set` on the row whose `column` is `value`. */
  | {
      readonly kind: 'update';
      readonly aggregate: string;
      readonly column: string;
      readonly value: Value;
      readonly set: Row;
      readonly field: string;
    };

/** When and which event a row change comes from: column DEFAULTs are evaluated from it, deterministically. */
export interface RowChangeContext {
  readonly eventId: string;
  readonly recordedAt: string;
}

/**
 * The row operations of one typed event whose `data` is complete (every field of the current version, keys
 * generated). For each aggregate the event touches, in the order its fields first name them: `require` and `insert`
 * in field order, then one `update` with every `updates` field of that aggregate (a later field wins on one column).
 * An inserted row has the key, the `updates` fields (a null one takes the column's DEFAULT, as an omitted column
 * would) and every other column's DEFAULT (NOW() = `recordedAt`, CURRENT_DATE = its UTC date, gen_random_uuid() = a
 * UUID derived from the event id, aggregate and column) or null.
 */
export function planRowChanges(
  catalog: Catalog,
  eventType: string,
  data: Row,
  context: RowChangeContext,
): readonly RowOperation[] {
  const definition = catalog.eventTypes.get(eventType);
  assert(definition !== undefined, `planRowChanges: event type "${eventType}" is not defined`);
  const order: string[] = [];
  for (const field of definition.fields) {
    const aggregate = field.link?.aggregate;
    if (aggregate !== undefined && !order.includes(aggregate)) order.push(aggregate);
  }
  const operations: RowOperation[] = [];
  for (const name of order) {
    const aggregate = catalog.aggregates.get(name);
    assert(aggregate !== undefined, `planRowChanges: aggregate "${name}" is not defined`);
    const linked = definition.fields.filter((f) => f.link?.aggregate === name);
    const set: Record<string, Value> = {};
    for (const field of linked) {
      if (field.link?.kind === 'updates') put(set, field.link.column, own(data, field.name));
    }
    const primaryKey = aggregate.columns.find((c) => c.primaryKey === true);
    assert(primaryKey !== undefined, `aggregate "${name}" has no primary key`);
    let identity: { column: string; value: Value; field: string } | undefined;
    let created = false;
    for (const field of linked) {
      const link = field.link;
      if (link === undefined || link.kind === 'updates') continue;
      const value = own(data, field.name);
      if (link.kind === 'creates') {
        operations.push({
          kind: 'insert',
          aggregate: name,
          key: value,
          row: insertRow(catalog, aggregate, primaryKey.name, value, set, context),
          field: field.name,
        });
        created = true;
      } else {
        if (value === null) continue;
        operations.push({
          kind: 'require',
          aggregate: name,
          column: link.column,
          value,
          field: field.name,
        });
        if (identity === undefined || link.column === primaryKey.name) {
          identity = { column: link.column, value, field: field.name };
        }
      }
    }
    if (!created && identity !== undefined && Object.keys(set).length > 0) {
      operations.push({ kind: 'update', aggregate: name, ...identity, set });
    }
  }
  return operations;
}

function insertRow(
  catalog: Catalog,
  aggregate: AggregateDefinition,
  keyColumn: string,
  key: Value,
  set: Readonly<Record<string, Value>>,
  context: RowChangeContext,
): Row {
  const row: Record<string, Value> = {};
  for (const column of aggregate.columns) {
    if (column.name === keyColumn) {
      put(row, column.name, key);
      continue;
    }
    const value = own(set, column.name);
    if (value !== null || column.default === undefined) {
      put(row, column.name, value);
      continue;
    }
    const type = storageType(columnType(catalog, aggregate.name, column));
    const defaulted = evaluateDefault(type, column.default, {
      now: context.recordedAt,
      uuid: () => columnDefaultUuid(context.eventId, aggregate.name, column.name),
    });
    put(row, column.name, defaulted);
  }
  return row;
}

/** The NOT NULL (and primary key) columns that are null in a full row. */
export function rowProblems(
  aggregate: AggregateDefinition,
  row: Row,
): readonly { column: string; reason: string }[] {
  const problems: { column: string; reason: string }[] = [];
  for (const column of aggregate.columns) {
    if (isNotNull(column) && own(row, column.name) === null) {
      problems.push({
        column: column.name,
        reason: `${aggregate.name}.${column.name} must not be null`,
      });
    }
  }
  return problems;
}

/** The REFERENCES columns of a row that are not null: each names a row of `aggregate` whose `target` is `value`. */
export function foreignKeys(
  aggregate: AggregateDefinition,
  row: Row,
): readonly { column: string; aggregate: string; target: string; value: Value }[] {
  const keys: { column: string; aggregate: string; target: string; value: Value }[] = [];
  for (const column of aggregate.columns) {
    const ref = column.references;
    const value = own(row, column.name);
    if (ref === undefined || value === null) continue;
    keys.push({ column: column.name, aggregate: ref.aggregate, target: ref.column, value });
  }
  return keys;
}
