import { AevonError, assert } from '@aevon/core';
import type { AggregateDefinition, Catalog, ColumnDefinition } from '@aevon/ddl';
import { columnType, formatDataType, storageType } from '@aevon/ddl';
import { createHash } from 'node:crypto';
import type { ClientBase, Pool } from 'pg';
import { quoteSchema } from '../schema/migrate.js';
import { inTransaction } from '../transaction.js';

/** PostgreSQL's identifier length (NAMEDATALEN - 1); a longer name would be silently cut. */
const identifierLengthMax = 63;

const serialTypes: ReadonlySet<string> = new Set(['smallserial', 'serial', 'bigserial']);

/** Whether a column is declared serial, so that its `creates` keys come from a counter when left out. */
export function isSerialColumn(column: ColumnDefinition): boolean {
  return column.type !== undefined && serialTypes.has(column.type.name);
}

/** Quotes an identifier for SQL: double quotes, with inner quotes doubled. */
export function quoteIdent(name: string): string {
  assert(name.length > 0 && !name.includes('\0'), 'an identifier is non-empty and has no NUL');
  return `"${name.replace(/"/g, '""')}"`;
}

/** Where one store's aggregate tables live and who may read them. */
export interface AggregateNames {
  /** The storage's schema (event log and metadata), quoted. */
  readonly storage: string;
  /** The schema of the aggregate tables, unquoted and quoted. */
  readonly aggregateSchema: string;
  readonly aggregates: string;
  /** The role a SQL query runs as, unquoted and quoted. */
  readonly readerRole: string;
  readonly reader: string;
  /** Metadata tables, schema-qualified. */
  readonly definitions: string;
  readonly keys: string;
  readonly changes: string;
  /** Advisory lock keys (text, hashed with `hashtextextended`). */
  readonly definitionsLockKey: string;
  readonly setupLockKey: string;
  readonly aggregateLockPrefix: string;
  readonly streamLockPrefix: string;
}

/**
 * The names of a store's schema, role and tables. The aggregate schema is `<schema>_aggregates`; the reader role is
 * cluster-wide, so its name is derived from the database and the schema (a hash, so any two of them differ).
 * @throws AEV_CONFIG_INVALID when `<schema>_aggregates` would exceed PostgreSQL's 63-byte identifiers.
 */
export function aggregateNamesOf(database: string, schema: string): AggregateNames {
  const storage = quoteSchema(schema);
  const aggregateSchema = `${schema}_aggregates`;
  if (aggregateSchema.length > identifierLengthMax) {
    throw new AevonError('AEV_CONFIG_INVALID', {
      reason: `schema ${JSON.stringify(schema)} is too long for its aggregate schema ${JSON.stringify(aggregateSchema)} (at most ${identifierLengthMax} characters)`,
    });
  }
  const digest = createHash('sha256').update(`${database}\0${schema}`).digest('hex');
  const readerRole = `aevon_sql_reader_${digest.slice(0, 24)}`;
  return {
    storage,
    aggregateSchema,
    aggregates: quoteIdent(aggregateSchema),
    readerRole,
    reader: quoteIdent(readerRole),
    definitions: `${storage}.aggregate_definitions`,
    keys: `${storage}.aggregate_keys`,
    changes: `${storage}.aggregate_changes`,
    definitionsLockKey: `aevon.aggregates.definitions:${schema}`,
    setupLockKey: `aevon.aggregates.setup:${schema}`,
    aggregateLockPrefix: `aevon.aggregates.table:${schema}:`,
    streamLockPrefix: `aevon.aggregates.stream:${schema}:`,
  };
}

/** The schema-qualified, quoted table of an aggregate. */
export function tableOf(names: AggregateNames, aggregate: string): string {
  return `${names.aggregates}.${quoteIdent(aggregate)}`;
}

/**
 * The name of the constraint that makes `column` of `aggregate` a primary key or unique: PostgreSQL's own default
 * (`account_pkey`, `account_email_key`) when it fits in 63 bytes, else a hash of both names. Constraint names are
 * index names, unique in the schema; these are, because table names are.
 */
export function constraintNameOf(aggregate: string, column: string, primaryKey: boolean): string {
  const name = primaryKey ? `${aggregate}_pkey` : `${aggregate}_${column}_key`;
  if (Buffer.byteLength(name) <= identifierLengthMax) return name;
  const digest = createHash('sha256').update(`${aggregate}\0${column}`).digest('hex');
  return `aevon_${primaryKey ? 'pk' : 'uq'}_${digest.slice(0, 32)}`;
}

/** The column a constraint name (from a unique violation) stands for, or undefined when it is none of ours. */
export function columnOfConstraint(
  aggregate: AggregateDefinition,
  constraint: string,
): string | undefined {
  for (const column of aggregate.columns) {
    const primaryKey = column.primaryKey === true;
    if (!primaryKey && column.unique !== true) continue;
    if (constraintNameOf(aggregate.name, column.name, primaryKey) === constraint)
      return column.name;
  }
  return undefined;
}

/**
 * `CREATE TABLE` for an aggregate: its columns with PostgreSQL's types (serial columns are plain integers: keys come
 * from `aggregate_keys`), NOT NULL, PRIMARY KEY and UNIQUE as named constraints. No DEFAULT (the store evaluates
 * defaults from the event, so a replay gives the same row) and no FOREIGN KEY (references are checked by the store,
 * so that a rebuild may replace a referenced table).
 */
export function createTableSql(
  names: AggregateNames,
  catalog: Catalog,
  aggregate: AggregateDefinition,
): string {
  const lines: string[] = [];
  for (const column of aggregate.columns) {
    const type = formatDataType(storageType(columnType(catalog, aggregate.name, column)));
    const notNull = column.notNull === true || column.primaryKey === true;
    lines.push(`${quoteIdent(column.name)} ${type}${notNull ? ' NOT NULL' : ''}`);
  }
  for (const column of aggregate.columns) {
    const primaryKey = column.primaryKey === true;
    if (!primaryKey && column.unique !== true) continue;
    const constraint = quoteIdent(constraintNameOf(aggregate.name, column.name, primaryKey));
    lines.push(
      `CONSTRAINT ${constraint} ${primaryKey ? 'PRIMARY KEY' : 'UNIQUE'} (${quoteIdent(column.name)})`,
    );
  }
  return `CREATE TABLE ${tableOf(names, aggregate.name)} (\n  ${lines.join(',\n  ')}\n)`;
}

/** Creates an aggregate's table and lets the reader role SELECT from it. */
export async function createAggregateTable(
  client: ClientBase,
  names: AggregateNames,
  catalog: Catalog,
  aggregate: AggregateDefinition,
): Promise<void> {
  await client.query(createTableSql(names, catalog, aggregate));
  await client.query(`GRANT SELECT ON ${tableOf(names, aggregate.name)} TO ${names.reader}`);
}

/** Drops an aggregate's table and its key counters (the change feed keeps its history). */
export async function dropAggregateTable(
  client: ClientBase,
  names: AggregateNames,
  aggregate: string,
): Promise<void> {
  await client.query(`DROP TABLE IF EXISTS ${tableOf(names, aggregate)}`);
  await client.query(`DELETE FROM ${names.keys} WHERE aggregate = $1`, [aggregate]);
}

/**
 * Creates, if missing, the aggregate schema and the reader role, and grants the role what a query needs and nothing
 * more: USAGE on the aggregate schema and SELECT on its tables (never on the storage schema). The session user is
 * made a member so that it may `SET ROLE` to it. Runs under a transaction advisory lock, so that nodes starting
 * together take turns (role names are cluster-wide; the name includes the database, so other databases never race
 * for it).
 * @throws AEV_CONFIG_INVALID when the role is missing and the session user may not create it.
 */
export async function setUpAggregateSchema(pool: Pool, names: AggregateNames): Promise<void> {
  await inTransaction(pool, 'BEGIN', async (client) => {
    await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [
      names.setupLockKey,
    ]);
    // No definitions change may create or drop a table while the grants below run (concurrent GRANTs on one table
    // can fail with "tuple concurrently updated").
    await client.query('SELECT pg_advisory_xact_lock_shared(hashtextextended($1, 0))', [
      names.definitionsLockKey,
    ]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${names.aggregates}`);
    await ensureReaderRole(client, names);
    await client.query(`GRANT USAGE ON SCHEMA ${names.aggregates} TO ${names.reader}`);
    await client.query(
      `GRANT SELECT ON ALL TABLES IN SCHEMA ${names.aggregates} TO ${names.reader}`,
    );
  });
}

/**
 * Makes the reader role exist and the session user able to `SET ROLE` to it. Membership is not enough on PostgreSQL
 * 16 and later: a CREATEROLE user is made a member of the roles it creates without the SET option, so the check
 * there is `pg_has_role(..., 'SET')`, and a plain GRANT (SET defaults to true) adds what is missing.
 */
async function ensureReaderRole(client: ClientBase, names: AggregateNames): Promise<void> {
  const server = await client.query<{ version: string }>(
    "SELECT current_setting('server_version_num') AS version",
  );
  const privilege = Number(server.rows[0]?.version ?? '0') >= 160000 ? 'SET' : 'MEMBER';
  const canSet = async (): Promise<boolean | undefined> => {
    const found = await client.query<{ allowed: boolean }>(
      'SELECT pg_has_role(current_user, oid, $2) AS allowed FROM pg_roles WHERE rolname = $1',
      [names.readerRole, privilege],
    );
    return found.rows[0]?.allowed;
  };
  const allowed = await canSet();
  if (allowed === true) return;
  try {
    if (allowed === undefined) await client.query(`CREATE ROLE ${names.reader} NOLOGIN NOINHERIT`);
    await client.query(`GRANT ${names.reader} TO CURRENT_USER`);
  } catch (error) {
    if (!isPermissionError(error)) throw error;
    throw readerRoleMissing(names, error);
  }
  if ((await canSet()) !== true) throw readerRoleMissing(names);
}

function readerRoleMissing(
  names: AggregateNames,
  cause?: unknown,
): AevonError<'AEV_CONFIG_INVALID'> {
  return new AevonError(
    'AEV_CONFIG_INVALID',
    {
      reason:
        `the SQL reader role ${names.readerRole} is missing or not granted to the storage user, who may not ` +
        `create or grant it: run CREATE ROLE ${names.readerRole} NOLOGIN; GRANT ${names.readerRole} TO ` +
        `<storage user>; as an administrator, or give the storage user CREATEROLE`,
    },
    cause === undefined ? undefined : { cause },
  );
}

function isPermissionError(error: unknown): boolean {
  return (
    typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '42501'
  );
}
