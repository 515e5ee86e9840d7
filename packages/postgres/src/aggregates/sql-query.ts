import { AevonError, invalidRequest } from '@aevon/core';
import type { Row, SqlRequest, SqlResult } from '@aevon/ddl';
import type { ClientBase, Pool } from 'pg';
import { sqlState, toStorageError } from '../postgres-error.js';
import { inTransaction } from '../transaction.js';
import type { AggregateNames } from './aggregate-tables.js';
import { pgTypeName, readPgRow, textTypes } from './pg-values.js';
import { checkReadOnlySql } from './sql-guard.js';

/** Most rows one query may ask for (`rowsMax`). */
export const sqlRowsMaxLimit = 100_000;
/** Longest timeout one query may ask for, in milliseconds. */
export const sqlTimeoutMsLimit = 600_000;

/**
 * SQLSTATE classes that are the server's or the connection's trouble, never the query's: connection exceptions,
 * insufficient resources, operator intervention (except a statement timeout), system and internal errors.
 */
const serverFailureClasses: ReadonlySet<string> = new Set(['08', '53', '57', '58', 'XX']);
const queryCanceled = '57014';

/**
 * Checks a {@link SqlRequest} statically (see {@link checkReadOnlySql}), then runs it with
 * {@link executeReadOnlyQuery}.
 * @throws AEV_SQL_INVALID, AEV_SQL_TIMEOUT, AEV_REQUEST_INVALID for a bad `rowsMax` or `timeoutMs`,
 *   AEV_STORAGE_UNAVAILABLE.
 */
export async function runSqlQuery(
  pool: Pool,
  names: AggregateNames,
  request: SqlRequest,
): Promise<SqlResult> {
  const checked = checkReadOnlySql(request.sql);
  if (request.params.length !== checked.paramsUsed) {
    throw new AevonError('AEV_SQL_INVALID', {
      reason: `the query uses ${checked.paramsUsed} parameter(s) ($1..$n) but ${request.params.length} were given`,
    });
  }
  return executeReadOnlyQuery(pool, names, { ...request, sql: checked.sql });
}

/**
 * Runs one query, with no static check, in the sandbox a query gets: a READ ONLY transaction, `search_path` set to
 * the aggregate schema alone, `statement_timeout`, and `SET LOCAL ROLE` to the reader role (USAGE on the aggregate
 * schema and SELECT on its tables only), so that even a query that slipped past the static check can neither write
 * nor read the event log. Values come back in canonical form ({@link readPgRow}) and at most `rowsMax` rows, with
 * `truncated` telling whether there were more.
 *
 * Exported for tests that prove the sandbox holds on its own; callers use {@link runSqlQuery}.
 * @throws AEV_SQL_INVALID with PostgreSQL's message for anything the database refuses (syntax, unknown column,
 *   permission denied), AEV_SQL_TIMEOUT, AEV_STORAGE_UNAVAILABLE when the database fails.
 */
export async function executeReadOnlyQuery(
  pool: Pool,
  names: AggregateNames,
  request: SqlRequest,
): Promise<SqlResult> {
  const { rowsMax, timeoutMs } = request;
  if (!Number.isSafeInteger(rowsMax) || rowsMax < 1 || rowsMax > sqlRowsMaxLimit) {
    throw invalidRequest(`must be an integer from 1 to ${sqlRowsMaxLimit}`, 'rowsMax');
  }
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > sqlTimeoutMsLimit) {
    throw invalidRequest(`must be an integer from 1 to ${sqlTimeoutMsLimit}`, 'timeoutMs');
  }
  try {
    // One round trip opens the read-only transaction and sets the sandbox (see sandboxSql).
    return await inTransaction(pool, sandboxSql(names, timeoutMs), (client) =>
      runInSandbox(client, request),
    );
  } catch (error) {
    if (error instanceof AevonError) throw error;
    throw toStorageError('query', error);
  }
}

/**
 * One round trip opens the transaction and sets the sandbox. The output settings make every value's text the form
 * {@link readPgRow} expects whatever the server's defaults are.
 */
function sandboxSql(names: AggregateNames, timeoutMs: number): string {
  return [
    'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY',
    `SET LOCAL statement_timeout = ${timeoutMs}`,
    `SET LOCAL search_path TO ${names.aggregates}`,
    "SET LOCAL TimeZone = 'UTC'",
    "SET LOCAL DateStyle = 'ISO, YMD'",
    "SET LOCAL IntervalStyle = 'postgres'",
    'SET LOCAL extra_float_digits = 1',
    'SET LOCAL standard_conforming_strings = on',
    `SET LOCAL ROLE ${names.reader}`,
  ].join('; ');
}

async function runInSandbox(client: ClientBase, request: SqlRequest): Promise<SqlResult> {
  // The newline before the closing parenthesis ends a trailing `--` comment of the query.
  const text = `SELECT * FROM (\n${request.sql}\n) AS aevon_query LIMIT ${request.rowsMax + 1}`;
  let result;
  try {
    result = await client.query({
      text,
      values: request.params.map(toParameter),
      rowMode: 'array',
      types: textTypes,
    });
  } catch (error) {
    throw toQueryError(error, request.timeoutMs);
  }
  const seen = new Set<string>();
  for (const field of result.fields) {
    if (seen.has(field.name)) {
      throw new AevonError('AEV_SQL_INVALID', {
        reason: `the result has two columns named ${JSON.stringify(field.name)}: give them distinct names with AS`,
      });
    }
    seen.add(field.name);
  }
  // A type is reported for a column of an aggregate table (through subqueries, CTEs and joins), as on every engine;
  // an expression's (count(*), id + 1) is null, as SQLite cannot know it either.
  const columns = result.fields.map((field) => ({
    name: field.name,
    type: field.tableID === 0 ? null : pgTypeName(field.dataTypeID, field.dataTypeModifier),
  }));
  const rows: Row[] = result.rows
    .slice(0, request.rowsMax)
    .map((values) => readPgRow(result.fields, values));
  return { columns, rows, truncated: result.rows.length > request.rowsMax };
}

/** A parameter as the driver sends it: objects (jsonb values) as JSON text; arrays become array literals. */
function toParameter(value: unknown): unknown {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    return JSON.stringify(value);
  }
  return value;
}

/** A query's failure: a timeout, the query's own fault (with PostgreSQL's message), or the server's. */
function toQueryError(error: unknown, timeoutMs: number): Error {
  const code = sqlState(error);
  if (code === queryCanceled) {
    return new AevonError('AEV_SQL_TIMEOUT', { timeoutMs }, { cause: error });
  }
  // A query over a configured limit (temp_file_limit, 53400) is the query's fault, unlike the rest of class 53.
  if (code !== undefined && (code === '53400' || !serverFailureClasses.has(code.slice(0, 2)))) {
    const message = error instanceof Error ? error.message : String(error);
    return new AevonError('AEV_SQL_INVALID', { reason: message }, { cause: error });
  }
  return toStorageError('query', error);
}
