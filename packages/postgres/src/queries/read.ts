import type { GlobalPosition, Range, RecordedEvent, StreamRevision } from '@aevon/core';
import { assert } from '@aevon/core';
import type { ClientBase, Pool } from 'pg';
import { formatPostgresPosition, parsePostgresPosition } from '../position.js';
import type { Tables } from './tables.js';

/** A row of `events` as the read queries select it. */
interface EventRow {
  readonly id: string;
  readonly stream: string;
  readonly revision: string;
  readonly type: string;
  readonly schema_version: number;
  readonly data: RecordedEvent['data'];
  readonly metadata: RecordedEvent['metadata'];
  readonly occurred_at: string;
  readonly recorded_at: string;
  readonly correlation_id: string | null;
  readonly causation_id: string | null;
  readonly tx_id: string;
  readonly seq: string;
}

// The casts render bigint and xid8 as exact decimal text whatever type parsers a shared pool has set. They rename
// nothing that is sorted on: ORDER BY names the table's columns through the alias `e`, never these text outputs.
const columns = `id, stream, revision::text AS revision, type, schema_version, data, metadata, occurred_at,
  recorded_at, correlation_id, causation_id, tx_id::text AS tx_id, seq::text AS seq`;

/**
 * The watermark: every transaction below `pg_snapshot_xmin` of the statement's snapshot has finished, and every later
 * transaction gets a larger id, so the rows below it are final. A reader paging forward by position therefore never
 * sees a row appear behind one it has passed.
 */
const belowWatermark = 'tx_id < pg_snapshot_xmin(pg_current_snapshot())';

function toRecorded(row: EventRow): RecordedEvent {
  return {
    id: row.id,
    type: row.type,
    data: row.data,
    metadata: row.metadata,
    schemaVersion: row.schema_version,
    occurredAt: row.occurred_at,
    recordedAt: row.recorded_at,
    correlationId: row.correlation_id,
    causationId: row.causation_id,
    stream: row.stream,
    revision: BigInt(row.revision),
    position: formatPostgresPosition(row.tx_id, row.seq),
  };
}

/** SQL conditions and parameters for a global range, numbered after `params`. */
function globalBounds(range: Range<GlobalPosition>, params: unknown[]): string[] {
  const conditions: string[] = [];
  const bound = (position: GlobalPosition, field: string, op: string): void => {
    const { txId, seq } = parsePostgresPosition(position, field);
    params.push(txId.toString(), seq.toString());
    conditions.push(`(tx_id, seq) ${op} ($${params.length - 1}::xid8, $${params.length}::bigint)`);
  };
  if (range.start !== null) bound(range.start, 'start', range.startExclusive ? '>' : '>=');
  if (range.end !== null) bound(range.end, 'end', range.endExclusive ? '<' : '<=');
  return conditions;
}

/** One page of the log below the watermark, plus whether committed rows in the range wait above it. */
export async function selectAll(
  pool: Pool,
  tables: Tables,
  range: Range<GlobalPosition>,
  heldUpTo: string | null,
): Promise<{ events: RecordedEvent[]; heldUpTo: string | null }> {
  const params: unknown[] = [];
  const bounds = globalBounds(range, params);
  const order = range.direction === 'forward' ? 'ASC' : 'DESC';
  params.push(range.limit);
  const result = await pool.query<EventRow>(
    `SELECT ${columns} FROM ${tables.events} AS e
     WHERE ${[belowWatermark, ...bounds].join(' AND ')}
     ORDER BY e.tx_id ${order}, e.seq ${order} LIMIT $${params.length}`,
    params,
  );
  const events = result.rows.map(toRecorded);
  assertOrdered(events, range.direction === 'forward');
  // A full forward page is complete whatever lies above the watermark: the next page will look again.
  if (range.direction === 'forward' && events.length === range.limit)
    return { events, heldUpTo: null };
  return { events, heldUpTo: await heldRowsUpTo(pool, tables, range, heldUpTo) };
}

/**
 * The highest transaction id of committed rows inside the range that sit at or above the watermark, held back only
 * because an older transaction is still open (anywhere on the server: xids are cluster-wide); null when none is.
 * With `limit` given, only rows up to that transaction count, so that a reader waiting for the commits it saw
 * first is not kept waiting by every commit that follows under load.
 */
async function heldRowsUpTo(
  pool: Pool,
  tables: Tables,
  range: Range<GlobalPosition>,
  limit: string | null,
): Promise<string | null> {
  const params: unknown[] = [];
  const conditions = ['NOT (' + belowWatermark + ')', ...globalBounds(range, params)];
  if (limit !== null) {
    params.push(limit);
    conditions.push(`tx_id <= $${params.length}::xid8`);
  }
  const result = await pool.query<{ held: string | null }>(
    `SELECT max(tx_id)::text AS held FROM ${tables.events} WHERE ${conditions.join(' AND ')}`,
    params,
  );
  return result.rows[0]?.held ?? null;
}

function assertOrdered(events: readonly RecordedEvent[], forward: boolean): void {
  for (let index = 1; index < events.length; index += 1) {
    const before = events[index - 1];
    const after = events[index];
    assert(before !== undefined && after !== undefined, 'indexes are in bounds');
    if (forward)
      assert(before.position < after.position, 'a forward page is in increasing position order');
    else
      assert(before.position > after.position, 'a backward page is in decreasing position order');
  }
}

/**
 * One page of a stream by revision. No watermark is needed here: a stream's writers take turns on its `streams` row
 * lock, so revision r+1 commits only after revision r has, and a reader paging by revision cannot skip one.
 */
export async function selectStream(
  pool: Pool | ClientBase,
  tables: Tables,
  stream: string,
  range: Range<StreamRevision>,
): Promise<RecordedEvent[]> {
  const params: unknown[] = [stream];
  const conditions = ['stream = $1'];
  if (range.start !== null) {
    params.push(range.start.toString());
    conditions.push(`revision ${range.startExclusive ? '>' : '>='} $${params.length}::bigint`);
  }
  if (range.end !== null) {
    params.push(range.end.toString());
    conditions.push(`revision ${range.endExclusive ? '<' : '<='} $${params.length}::bigint`);
  }
  const order = range.direction === 'forward' ? 'ASC' : 'DESC';
  params.push(range.limit);
  const result = await pool.query<EventRow>(
    `SELECT ${columns} FROM ${tables.events} AS e WHERE ${conditions.join(' AND ')}
     ORDER BY e.revision ${order} LIMIT $${params.length}`,
    params,
  );
  const events = result.rows.map(toRecorded);
  assertContiguousPage(events, range.direction === 'forward' ? 1n : -1n);
  return events;
}

/** Pair assertion, after the SELECT: a stream page's revisions are contiguous in its direction. */
function assertContiguousPage(events: readonly RecordedEvent[], step: bigint): void {
  for (let index = 1; index < events.length; index += 1) {
    const before = events[index - 1];
    const after = events[index];
    assert(before !== undefined && after !== undefined, 'indexes are in bounds');
    assert(
      after.revision === before.revision + step,
      'stored revisions of a stream are contiguous',
    );
  }
}

/** The first and last events of a stream (one row when it holds one event), or none. */
export async function selectStreamEnds(
  pool: Pool,
  tables: Tables,
  stream: string,
): Promise<RecordedEvent[]> {
  const result = await pool.query<EventRow>(
    `SELECT ${columns} FROM ${tables.events} AS e
     WHERE stream = $1 AND revision IN (0, (SELECT max(revision) FROM ${tables.events} WHERE stream = $1))
     ORDER BY e.revision`,
    [stream],
  );
  return result.rows.map(toRecorded);
}
