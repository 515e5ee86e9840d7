import type { Database, Statement } from 'better-sqlite3';
import type { EventRow } from './event-row.js';
import { eventColumns } from './event-row.js';

/** The parameters of one `events` INSERT, in column order. */
export type InsertParameters = [
  id: string,
  stream: string,
  revision: bigint,
  type: string,
  schemaVersion: number,
  data: string,
  metadata: string,
  occurredAt: string,
  recordedAt: string,
  correlationId: string | null,
  causationId: string | null,
];

/** A stream's first and last event, as {@link Storage.streamInfo} needs them. */
export interface StreamEndRow {
  readonly position: bigint;
  readonly revision: bigint;
  readonly recorded_at: string;
}

/** Every statement the storage runs, prepared once when it opens. */
export interface Statements {
  readonly begin: Statement<[]>;
  readonly commit: Statement<[]>;
  readonly rollback: Statement<[]>;
  readonly savepoint: Statement<[]>;
  readonly release: Statement<[]>;
  readonly rollbackToSavepoint: Statement<[]>;
  readonly lastRevision: Statement<[string], bigint | null>;
  readonly insert: Statement<InsertParameters>;
  readonly byId: Statement<[string], EventRow>;
  readonly streamForward: Statement<[string, bigint, bigint, number], EventRow>;
  readonly streamBackward: Statement<[string, bigint, bigint, number], EventRow>;
  readonly allForward: Statement<[bigint, bigint, number], EventRow>;
  readonly allBackward: Statement<[bigint, bigint, number], EventRow>;
  readonly latest: Statement<[string], EventRow>;
  readonly streamFirst: Statement<[string], StreamEndRow>;
  readonly streamLast: Statement<[string], StreamEndRow>;
  readonly head: Statement<[], bigint | null>;
}

/**
 * Prepares the storage's statements. Reads use safe integers, so that revisions and positions arrive as bigints
 * and never lose precision above 2^53.
 */
export function prepareStatements(db: Database): Statements {
  const control = (sql: string): Statement<[]> => db.prepare<[]>(sql);
  const read = <P extends unknown[], R>(sql: string): Statement<P, R> =>
    db.prepare<P, R>(sql).safeIntegers(true);
  const select = `SELECT ${eventColumns} FROM events`;
  return {
    begin: control('BEGIN IMMEDIATE'),
    commit: control('COMMIT'),
    rollback: control('ROLLBACK'),
    savepoint: control('SAVEPOINT aevon_batch'),
    release: control('RELEASE aevon_batch'),
    rollbackToSavepoint: control('ROLLBACK TO aevon_batch'),
    lastRevision: read<[string], bigint | null>(
      'SELECT max(revision) FROM events WHERE stream = ?',
    ).pluck(),
    insert: db
      .prepare<InsertParameters>(
        `INSERT INTO events (id, stream, revision, type, schema_version, data, metadata, occurred_at, recorded_at,
           correlation_id, causation_id)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .safeIntegers(true),
    byId: read(`${select} WHERE id = ?`),
    streamForward: read(
      `${select} WHERE stream = ? AND revision BETWEEN ? AND ? ORDER BY revision ASC LIMIT ?`,
    ),
    streamBackward: read(
      `${select} WHERE stream = ? AND revision BETWEEN ? AND ? ORDER BY revision DESC LIMIT ?`,
    ),
    allForward: read(`${select} WHERE position BETWEEN ? AND ? ORDER BY position ASC LIMIT ?`),
    allBackward: read(`${select} WHERE position BETWEEN ? AND ? ORDER BY position DESC LIMIT ?`),
    latest: read(`${select} WHERE stream = ? ORDER BY revision DESC LIMIT 1`),
    streamFirst: read(
      'SELECT position, revision, recorded_at FROM events WHERE stream = ? ORDER BY revision ASC LIMIT 1',
    ),
    streamLast: read(
      'SELECT position, revision, recorded_at FROM events WHERE stream = ? ORDER BY revision DESC LIMIT 1',
    ),
    head: read<[], bigint | null>('SELECT max(position) FROM events').pluck(),
  };
}
