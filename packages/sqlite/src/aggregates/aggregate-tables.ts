import type { AggregateDefinition, Catalog, DataType, Row, Value } from '@aevon/ddl';
import { columnType, formatDataType, storageType } from '@aevon/ddl';
import { assert } from '@aevon/core';

/**
 * How aggregates live in SQLite: each is a real `STRICT` table `agg_<name>`, with column types that keep every
 * canonical value exactly (docs/reference/ddl.md, "Values"): integers (smallint to bigserial) and booleans (0/1) as
 * INTEGER, real/double precision as REAL, numeric as its decimal TEXT (exact; it compares as text in SQL), every
 * character, uuid and date type as TEXT, timestamps as TEXT with exactly six fraction digits, jsonb and arrays as
 * JSON TEXT.
 *
 * Why the fixed-width timestamps: the canonical form trims trailing fraction zeros, and `Z` (0x5A) sorts after every
 * digit, so as canonical text `…05.6Z` would sort after `…05.678Z`. Stored as `…05.600000Z`, timestamps sort and
 * compare as text in the order of time; reads give the canonical form back.
 */
export const aggregateTablePrefix = 'agg_';

/** `"name"`, doubling any `"` inside: aggregate and column names may be quoted DDL identifiers. */
export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** The table holding aggregate `name`. */
export function aggregateTableName(name: string): string {
  return `${aggregateTablePrefix}${name}`;
}

/** How a canonical value of a DDL type is stored. */
export type StorageClass =
  'integer' | 'real' | 'numeric' | 'boolean' | 'text' | 'timestamp' | 'json';

/** The storage class of a (column or field) type. */
export function storageClass(type: DataType): StorageClass {
  if (type.array === true) return 'json';
  switch (type.name) {
    case 'smallint':
    case 'integer':
    case 'bigint':
    case 'smallserial':
    case 'serial':
    case 'bigserial':
      return 'integer';
    case 'real':
    case 'double precision':
      return 'real';
    case 'numeric':
      return 'numeric';
    case 'boolean':
      return 'boolean';
    case 'jsonb':
      return 'json';
    case 'text':
    case 'varchar':
    case 'char':
    case 'uuid':
    case 'date':
      return 'text';
    case 'timestamp':
    case 'timestamptz':
      return 'timestamp';
  }
}

const sqliteTypeByClass: Readonly<Record<StorageClass, string>> = {
  integer: 'INTEGER',
  real: 'REAL',
  numeric: 'TEXT',
  boolean: 'INTEGER',
  text: 'TEXT',
  timestamp: 'TEXT',
  json: 'TEXT',
};

/** One column of an aggregate with its resolved type (a typeless REFERENCES column takes the referenced type). */
export interface ResolvedColumn {
  readonly name: string;
  readonly type: DataType;
  readonly storage: StorageClass;
  /** The DDL type name reported for query results (serial types as their integer type). */
  readonly typeName: string;
}

/** An aggregate's columns with their types resolved against the catalog, in definition order. */
export interface ResolvedAggregate {
  readonly definition: AggregateDefinition;
  readonly table: string;
  readonly columns: readonly ResolvedColumn[];
  readonly byName: ReadonlyMap<string, ResolvedColumn>;
  readonly primaryKey: ResolvedColumn;
  /** `CREATE TABLE` for this shape: two definitions whose text differs need a rebuild. */
  readonly createSql: string;
}

/** Resolves an aggregate of `catalog` (it must exist). */
export function resolveAggregate(catalog: Catalog, name: string): ResolvedAggregate {
  const definition = catalog.aggregates.get(name);
  assert(definition !== undefined, 'the aggregate is in the catalog');
  const columns = definition.columns.map((column): ResolvedColumn => {
    const type = columnType(catalog, name, column);
    return {
      name: column.name,
      type,
      storage: storageClass(type),
      typeName: formatDataType(storageType(type)),
    };
  });
  const primaryKeyIndex = definition.columns.findIndex((c) => c.primaryKey === true);
  const primaryKey = columns[primaryKeyIndex];
  assert(primaryKey !== undefined, 'an aggregate has a primary key');
  const table = aggregateTableName(name);
  const columnSql = definition.columns.map((column, index) => {
    const resolved = columns[index];
    assert(resolved !== undefined, 'every column is resolved');
    const parts = [quoteIdentifier(column.name), sqliteTypeByClass[resolved.storage]];
    if (column.primaryKey === true) parts.push('PRIMARY KEY NOT NULL');
    else if (column.notNull === true) parts.push('NOT NULL');
    if (column.unique === true) parts.push('UNIQUE');
    // The declared type text is part of the shape: a varchar(40) → varchar(80) change must rebuild too.
    return `${parts.join(' ')} /* ${formatDataType(resolved.type).replace(/\*\//g, '')} */`;
  });
  const createSql = `CREATE TABLE ${quoteIdentifier(table)} (\n  ${columnSql.join(',\n  ')}\n) STRICT`;
  return {
    definition,
    table,
    columns,
    byName: new Map(columns.map((c) => [c.name, c])),
    primaryKey,
    createSql,
  };
}

/** A value as SQLite stores it in a column of `storage`; the value is canonical for the column's type. */
export function toSqlite(storage: StorageClass, value: Value): null | bigint | number | string {
  if (value === null) return null;
  switch (storage) {
    case 'integer':
      assert(
        typeof value === 'number' || typeof value === 'string',
        'an integer is a number or a decimal string',
      );
      return BigInt(value);
    case 'real':
      assert(typeof value === 'number', 'a float is a number');
      return value;
    case 'boolean':
      assert(typeof value === 'boolean', 'a boolean is a boolean');
      return value ? 1n : 0n;
    case 'numeric':
    case 'text':
      assert(typeof value === 'string', 'a numeric or text value is a string');
      return value;
    case 'timestamp':
      return storedTimestamp(value);
    case 'json':
      return JSON.stringify(value);
  }
}

/** A stored value back in canonical form (reads use safe integers: every INTEGER arrives as a bigint). */
export function fromSqlite(storage: StorageClass, raw: unknown): Value {
  if (raw === null || raw === undefined) return null;
  switch (storage) {
    case 'integer':
      return integerValue(raw);
    case 'real':
      return typeof raw === 'bigint' ? Number(raw) : (raw as number);
    case 'boolean':
      return typeof raw === 'bigint' ? raw !== 0n : raw !== 0;
    case 'numeric':
    case 'text':
      return typeof raw === 'string' ? raw : JSON.stringify(raw);
    case 'timestamp':
      return canonicalTimestamp(raw as string);
    case 'json':
      return JSON.parse(raw as string) as Value;
  }
}

const timestampPattern =
  /^([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})(?:\.([0-9]{1,6}))?(Z?)$/;

/** A canonical timestamp (`…:05.6Z`) as stored: exactly six fraction digits (`…:05.600000Z`). */
export function storedTimestamp(value: Value): string {
  assert(typeof value === 'string', 'a timestamp is a string');
  const match = timestampPattern.exec(value);
  assert(match !== null, 'a canonical timestamp is YYYY-MM-DDTHH:MM:SS[.ffffff][Z]');
  return `${match[1] ?? ''}.${(match[2] ?? '').padEnd(6, '0')}${match[3] ?? ''}`;
}

/** A stored timestamp back in canonical form: trailing fraction zeros trimmed, no fraction when it is zero. */
export function canonicalTimestamp(stored: string): string {
  const match = timestampPattern.exec(stored);
  assert(match !== null, 'a stored timestamp is YYYY-MM-DDTHH:MM:SS.ffffff[Z]');
  const fraction = (match[2] ?? '').replace(/0+$/, '');
  return `${match[1] ?? ''}${fraction === '' ? '' : `.${fraction}`}${match[3] ?? ''}`;
}

/** An integer in canonical form: a number when safe, else its decimal string. */
export function integerValue(raw: unknown): Value {
  if (typeof raw === 'bigint') {
    return raw >= BigInt(Number.MIN_SAFE_INTEGER) && raw <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(raw)
      : raw.toString();
  }
  return raw as Value;
}

/**
 * A value read from a computed result column (no aggregate column behind it): integers as {@link integerValue},
 * blobs as lower-case hex strings, everything else as is.
 */
export function plainValue(raw: unknown): Value {
  if (raw === null || raw === undefined) return null;
  if (typeof raw === 'bigint') return integerValue(raw);
  if (raw instanceof Uint8Array) return Buffer.from(raw).toString('hex');
  return raw as Value;
}

/** A stored row of `aggregate`, as selected with `SELECT *`, in canonical form. */
export function rowFromSqlite(
  aggregate: ResolvedAggregate,
  raw: Readonly<Record<string, unknown>>,
): Row {
  const row: Record<string, Value> = {};
  for (const column of aggregate.columns)
    row[column.name] = fromSqlite(column.storage, raw[column.name]);
  return row;
}
