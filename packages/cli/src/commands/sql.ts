import type { SqlResult, Value } from '@aevon/ddl';
import type { AevonConfig } from '../config/config.js';
import { createCryptoRandom } from '../crypto-random.js';
import { exitCodes } from '../exit-codes.js';
import type { CliEnvironment } from '../main.js';
import { openDefinitions } from '../open-definitions.js';
import { openStorage } from '../open-storage.js';
import { createSystemClock } from '../system-clock.js';

/** What `aevon sql` runs. */
export interface SqlCommandRequest {
  readonly sql: string;
  /** `--param V` values, `$1`, `$2`, ... in order (see {@link parseParam}). */
  readonly params: readonly Value[];
  /** `--limit N`: at most `sql.rows_max`. */
  readonly limit?: number;
  /** `--json`: the rows as one JSON array instead of a table. */
  readonly isJson: boolean;
}

/**
 * A `--param` value: the JSON value it spells (`1`, `true`, `null`, `"text"`, `[1,2]`), else the text itself
 * (`--param Bob` is the string "Bob"; write `--param '"1"'` for the string "1").
 */
export function parseParam(text: string): Value {
  try {
    return JSON.parse(text) as Value;
  } catch {
    return text;
  }
}

/**
 * `aevon sql "SELECT ..."`: runs one read-only query over the aggregate tables of the configured database, with the
 * limits of `POST /v1/sql`, and prints a table (or JSON rows with `--json`). Changes nothing, not even a schema.
 * @throws AEV_SQL_INVALID, AEV_SQL_TIMEOUT, AEV_CONFIG_INVALID, AEV_STORAGE_UNAVAILABLE, AEV_STORAGE_SCHEMA_MISMATCH.
 */
export async function runSql(
  config: AevonConfig,
  environment: CliEnvironment,
  request: SqlCommandRequest,
): Promise<number> {
  const opened = await openStorage(config.database);
  try {
    const definitions = await openDefinitions(config, opened, {
      clock: createSystemClock(),
      random: createCryptoRandom(),
      upcasters: new Map(),
    });
    const result = await definitions.query(request.sql, request.params, request.limit);
    if (request.isJson) environment.stdout(JSON.stringify(result.rows));
    else for (const line of formatTable(result)) environment.stdout(line);
    if (result.truncated) {
      environment.stderr(
        `aevon: more rows than ${result.rows.length}; raise --limit or sql.rows_max`,
      );
    }
    return exitCodes.ok;
  } finally {
    await opened.closeAggregates();
    await opened.storage.close();
  }
}

/** The result as a text table, psql style: a header, a rule, one line per row, then the row count. */
export function formatTable(result: SqlResult): readonly string[] {
  const names = result.columns.map((column) => column.name);
  const cells = result.rows.map((row) => names.map((name) => cellText(row[name] ?? null)));
  const widths = names.map((name, index) =>
    Math.max(name.length, ...cells.map((line) => (line[index] ?? '').length)),
  );
  const line = (values: readonly string[]): string =>
    values
      .map((value, index) => ` ${value.padEnd(widths[index] ?? 0)} `)
      .join('|')
      .trimEnd();
  const count = result.rows.length;
  return [
    line(names),
    widths.map((width) => '-'.repeat(width + 2)).join('+'),
    ...cells.map(line),
    `(${count} row${count === 1 ? '' : 's'}${result.truncated ? ', truncated' : ''})`,
  ];
}

/** A cell: strings as they are, NULL as an empty cell, anything else as JSON; one line. */
function cellText(value: Value): string {
  const text = value === null ? '' : typeof value === 'string' ? value : JSON.stringify(value);
  return text.replace(/\r?\n/g, '\\n');
}
