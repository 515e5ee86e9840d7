import type { GlobalPosition } from '@aevon/core';
import { assert, invalidRequest } from '@aevon/core';
import type { ChangeRange, Row, RowChange, Value } from '@aevon/ddl';
import type { ClientBase, Pool } from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatPostgresPosition, parsePostgresPosition } from '../position.js';
import type { AggregateNames } from './aggregate-tables.js';
import type { AppliedChange } from './row-writer.js';

/** Most changes one page of the feed may ask for (`limit`). */
export const changePageMax = 10_000;

/**
 * Records an event's row changes in the feed, at the event's position and in their order, in the writing
 * transaction. Keys and rows are stored as JSON text, which keeps their column order.
 */
export async function recordChanges(
  client: ClientBase,
  names: AggregateNames,
  position: GlobalPosition,
  eventId: string,
  changes: readonly AppliedChange[],
): Promise<void> {
  if (changes.length === 0) return;
  const { txId, seq } = parsePostgresPosition(position, 'position');
  const rows = changes.map((change, ord) => ({
    ord,
    aggregate: change.aggregate,
    key: JSON.stringify(change.key),
    operation: change.operation,
    before: change.before === null ? null : JSON.stringify(change.before),
    after: JSON.stringify(change.after),
  }));
  const result = await client.query(
    `INSERT INTO ${names.changes} (tx_id, seq, ord, event_id, aggregate, key, operation, before, after)
     SELECT $1::xid8, $2::bigint, c.ord, $3, c.aggregate, c.key::json, c.operation, c.before::json, c.after::json
     FROM json_to_recordset($4::json) AS c(ord integer, aggregate text, key text, operation text, before text,
       after text)
     -- The event's own row: the change is at the position of the event this transaction wrote.
     WHERE $1::xid8 = pg_current_xact_id()`,
    [txId.toString(), seq.toString(), eventId, JSON.stringify(rows)],
  );
  assert(result.rowCount === changes.length, 'every change is recorded in the writing transaction');
}

interface ChangeRow {
  readonly tx_id: string;
  readonly seq: string;
  readonly ord: number;
  readonly event_id: string;
  readonly aggregate: string;
  readonly key: Value;
  readonly operation: 'insert' | 'update';
  readonly before: Row | null;
  readonly after: Row;
}

/** The watermark rule of `readAll`: only rows of transactions below every open one's id are final. */
const belowWatermark = 'tx_id < pg_snapshot_xmin(pg_current_snapshot())';

/**
 * A page of the change feed: at most `range.limit` changes after `range.after` (exclusive) in log order, below the
 * watermark, so that a reader paging by position never misses a change that commits late. The changes of one event
 * share its position, and a page may end among them (the store contract's rule): a reader that pages by position
 * must ask for more than the most changes one event makes.
 *
 * When committed changes in the range are held above the watermark by an older open transaction, it waits for
 * them, up to `waitMs`, so that a writer reads its own fresh changes; waiting affects freshness only.
 * @throws AEV_REQUEST_INVALID for a bad limit or position.
 */
export async function readChangePage(
  pool: Pool,
  names: AggregateNames,
  range: ChangeRange,
  waitMs: number,
): Promise<RowChange[]> {
  if (!Number.isSafeInteger(range.limit) || range.limit < 1 || range.limit > changePageMax) {
    throw invalidRequest(`must be an integer from 1 to ${changePageMax}`, 'limit');
  }
  const after = range.after === null ? null : parsePostgresPosition(range.after, 'after');
  if (range.aggregates?.length === 0) return [];
  let waitedMs = 0;
  let stepMs = 1;
  let heldUpTo: string | null = null;
  for (;;) {
    const page = await selectChanges(pool, names, range, after);
    if (page.length >= range.limit || waitedMs >= waitMs) return page.map(toRowChange);
    const held = await heldChangesUpTo(pool, names, range, after, heldUpTo);
    if (held === null) return page.map(toRowChange);
    // Wait only for the changes held at the first look; later commits do not extend the wait.
    heldUpTo ??= held;
    await sleep(stepMs);
    waitedMs += stepMs;
    stepMs = Math.min(stepMs * 2, 32);
  }
}

function conditionsOf(
  range: ChangeRange,
  after: { txId: bigint; seq: bigint } | null,
  params: unknown[],
): string[] {
  const conditions: string[] = [];
  if (after !== null) {
    params.push(after.txId.toString(), after.seq.toString());
    conditions.push(`(tx_id, seq) > ($${params.length - 1}::xid8, $${params.length}::bigint)`);
  }
  if (range.aggregates !== undefined) {
    params.push(range.aggregates);
    conditions.push(`aggregate = ANY($${params.length}::text[])`);
  }
  return conditions;
}

async function selectChanges(
  pool: Pool,
  names: AggregateNames,
  range: ChangeRange,
  after: { txId: bigint; seq: bigint } | null,
): Promise<ChangeRow[]> {
  const params: unknown[] = [];
  const conditions = [belowWatermark, ...conditionsOf(range, after, params)];
  params.push(range.limit);
  const result = await pool.query<ChangeRow>(
    `SELECT tx_id::text AS tx_id, seq::text AS seq, ord, event_id, aggregate, key, operation, before, after
     FROM ${names.changes} AS c WHERE ${conditions.join(' AND ')}
     ORDER BY c.tx_id, c.seq, c.ord LIMIT $${params.length}`,
    params,
  );
  return result.rows;
}

/** The highest transaction id of committed changes in the range held above the watermark, or null. */
async function heldChangesUpTo(
  pool: Pool,
  names: AggregateNames,
  range: ChangeRange,
  after: { txId: bigint; seq: bigint } | null,
  limit: string | null,
): Promise<string | null> {
  const params: unknown[] = [];
  const conditions = [`NOT (${belowWatermark})`, ...conditionsOf(range, after, params)];
  if (limit !== null) {
    params.push(limit);
    conditions.push(`tx_id <= $${params.length}::xid8`);
  }
  const result = await pool.query<{ held: string | null }>(
    `SELECT max(tx_id)::text AS held FROM ${names.changes} WHERE ${conditions.join(' AND ')}`,
    params,
  );
  return result.rows[0]?.held ?? null;
}

function toRowChange(row: ChangeRow): RowChange {
  return {
    position: formatPostgresPosition(row.tx_id, row.seq),
    eventId: row.event_id,
    aggregate: row.aggregate,
    key: row.key,
    operation: row.operation,
    before: row.before,
    after: row.after,
  };
}
