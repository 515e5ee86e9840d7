import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { Database } from 'better-sqlite3';
import type {
  AppendBatch,
  AppendOutcome,
  GlobalPosition,
  Limits,
  Range,
  RecordedEvent,
  Storage,
  StreamId,
  StreamInfo,
  StreamRevision,
} from '@aevon/core';
import {
  AevonError,
  AssertionError,
  assert,
  createLimits,
  formatSequencePosition,
} from '@aevon/core';
import { BatchWriter } from './queries/append-batches.js';
import type { EventRow } from './queries/event-row.js';
import { toRecordedEvent } from './queries/event-row.js';
import { positionBounds, revisionBounds } from './queries/range-bounds.js';
import type { Statements } from './queries/statements.js';
import { prepareStatements } from './queries/statements.js';
import { applyMigrations, sqliteMigrations } from './schema/migrations.js';

/** Options for {@link createSqliteStorage}. */
export interface SqliteStorageOptions {
  /** A file path (its parent folders are created) or `:memory:`. See {@link parseSqliteDsn} for DSNs. */
  readonly path: string;
  /**
   * `PRAGMA synchronous`. Default: `full`, so that an acknowledged append survives power loss (WAL is fsynced at
   * every commit; group commit amortizes that fsync over every batch in the transaction). `normal` fsyncs only at
   * checkpoints: an acknowledged append survives a process crash but may be lost if the OS crashes or power fails.
   */
  readonly synchronous?: 'full' | 'normal';
  /** How long a write waits for another connection's lock before failing (`PRAGMA busy_timeout`). Default: 5000. */
  readonly busyTimeoutMs?: number;
  /**
   * Overrides of the default limits. Pass the same overrides as the event store's: a read page above
   * `readPageEventsMax` is refused as a programmer error. Default: the core defaults.
   */
  readonly limits?: Partial<Limits>;
}

/**
 * A {@link Storage} on SQLite through better-sqlite3, single writer: a position is the event's rowid, so positions
 * are the commit order and gap-free. Other modules may share {@link SqliteStorage.database} (one connection per
 * file), e.g. to update derived tables in their own transactions.
 */
export interface SqliteStorage extends Storage {
  readonly engine: 'sqlite';
  /** The open connection, shared with other modules; never close it directly, call {@link Storage.close}. */
  readonly database: Database;
  /** The path the database was opened at. */
  readonly path: string;
  readonly limits: Limits;
  /**
   * Runs `fn` in an immediate transaction on the shared connection (a savepoint when already inside one): it
   * commits when `fn` returns and rolls back when it throws. `fn` must be synchronous.
   * @throws AEV_STORAGE_UNAVAILABLE after {@link Storage.close}; whatever `fn` or the driver throws otherwise.
   */
  transaction<T>(fn: () => T): T;
  /**
   * Appends one batch inside the transaction the caller holds on {@link SqliteStorage.database} (see
   * {@link SqliteStorage.transaction}), through the same statements as {@link Storage.appendBatches}: for modules
   * that write an event and their own tables atomically (the aggregate store). Returns the batch's outcome; a failed
   * expectation or a stored id writes nothing of the batch, and the caller decides whether to roll back.
   */
  appendWithin(batch: AppendBatch): AppendOutcome;
}

/**
 * Opens (creating if needed) a SQLite event log: sets WAL, `synchronous`, foreign keys and the busy timeout, then
 * applies {@link sqliteMigrations} in one transaction. Statements are prepared once here.
 * @throws AEV_STORAGE_UNAVAILABLE when the file cannot be opened or migrated; AEV_STORAGE_SCHEMA_MISMATCH when it
 *   was migrated by an incompatible build.
 */
export function createSqliteStorage(options: SqliteStorageOptions): SqliteStorage {
  const limits = createLimits(options.limits);
  const db = openDatabase(options);
  let statements: Statements;
  try {
    applyMigrations(db, sqliteMigrations);
    statements = prepareStatements(db);
  } catch (error) {
    db.close();
    if (error instanceof AevonError || error instanceof AssertionError) throw error;
    throw unavailable(`cannot migrate ${options.path}`, error);
  }
  return new SqliteStorageEngine(db, statements, options.path, limits);
}

function openDatabase(options: SqliteStorageOptions): Database {
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
  assert(
    Number.isSafeInteger(busyTimeoutMs) && busyTimeoutMs >= 0,
    'busyTimeoutMs is a non-negative integer',
  );
  const synchronous = options.synchronous ?? 'full';
  assert(synchronous === 'full' || synchronous === 'normal', 'synchronous is "full" or "normal"');
  let db: Database | null = null;
  try {
    if (options.path !== ':memory:' && options.path !== '') {
      mkdirSync(dirname(options.path), { recursive: true });
    }
    db = new BetterSqlite3(options.path, { timeout: busyTimeoutMs });
    db.pragma('journal_mode = WAL');
    // FULL by default: an acknowledged append must survive power loss, and group commit amortizes the fsync.
    db.pragma(`synchronous = ${synchronous.toUpperCase()}`);
    db.pragma('foreign_keys = ON');
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    return db;
  } catch (error) {
    db?.close();
    throw unavailable(`cannot open ${options.path}`, error);
  }
}

/** An `AEV_STORAGE_UNAVAILABLE` error chaining the driver's error; the reason names its SQLite code if any. */
function unavailable(reason: string, cause: unknown): AevonError<'AEV_STORAGE_UNAVAILABLE'> {
  const code =
    typeof cause === 'object' && cause !== null ? (cause as { code?: unknown }).code : undefined;
  const suffix = typeof code === 'string' ? ` (${code})` : '';
  return new AevonError('AEV_STORAGE_UNAVAILABLE', { reason: `${reason}${suffix}` }, { cause });
}

class SqliteStorageEngine implements SqliteStorage {
  readonly engine = 'sqlite';
  readonly capabilities = { multiProcess: false };
  readonly database: Database;
  readonly path: string;
  readonly limits: Limits;
  readonly #statements: Statements;
  readonly #writer: BatchWriter;
  #closed = false;

  constructor(db: Database, statements: Statements, path: string, limits: Limits) {
    this.database = db;
    this.path = path;
    this.limits = limits;
    this.#statements = statements;
    this.#writer = new BatchWriter(statements);
  }

  transaction<T>(fn: () => T): T {
    this.#ensureOpen();
    return this.database.transaction(fn).immediate();
  }

  appendWithin(batch: AppendBatch): AppendOutcome {
    this.#ensureOpen();
    assert(this.database.inTransaction, "appendWithin runs inside the caller's transaction");
    const [outcome] = this.#writer.writeAll([batch]);
    assert(outcome !== undefined, 'one batch gives one outcome');
    return outcome;
  }

  async appendBatches(batches: readonly AppendBatch[]): Promise<readonly AppendOutcome[]> {
    this.#ensureOpen();
    if (batches.length === 0) return [];
    const db = this.database;
    assert(
      !db.inTransaction,
      'appends run their own transaction, never inside another on the shared connection',
    );
    try {
      this.#statements.begin.run();
      const outcomes = this.#writer.writeAll(batches);
      this.#statements.commit.run();
      return outcomes;
    } catch (error) {
      // SQLite rolls back by itself after some errors (SQLITE_FULL, SQLITE_IOERR); roll back whatever is left.
      if (db.inTransaction) this.#statements.rollback.run();
      if (error instanceof AssertionError) throw error;
      throw unavailable('the append transaction failed and was rolled back', error);
    }
  }

  async readStream(
    stream: StreamId,
    range: Range<StreamRevision>,
  ): Promise<readonly RecordedEvent[]> {
    this.#ensureOpen();
    this.#checkLimit(range.limit);
    const bounds = revisionBounds(range);
    if (bounds === null) return [];
    const forward = range.direction === 'forward';
    const statement = forward ? this.#statements.streamForward : this.#statements.streamBackward;
    const rows = this.#run(() => statement.all(stream, bounds.low, bounds.high, range.limit));
    // Paired with the contiguity the append path guarantees: a stream's revisions have no holes.
    rows.forEach((row, index) => {
      if (index > 0) {
        const previous = rows[index - 1] as EventRow;
        assert(
          row.revision === previous.revision + (forward ? 1n : -1n),
          'stored revisions are contiguous',
        );
      }
    });
    return rows.map(toRecordedEvent);
  }

  async readAll(range: Range<GlobalPosition>): Promise<readonly RecordedEvent[]> {
    this.#ensureOpen();
    this.#checkLimit(range.limit);
    const bounds = positionBounds(range);
    if (bounds === null) return [];
    const forward = range.direction === 'forward';
    const statement = forward ? this.#statements.allForward : this.#statements.allBackward;
    const rows = this.#run(() => statement.all(bounds.low, bounds.high, range.limit));
    return rows.map(toRecordedEvent);
  }

  async readLatest(stream: StreamId): Promise<RecordedEvent | null> {
    this.#ensureOpen();
    const row = this.#run(() => this.#statements.latest.get(stream));
    return row === undefined ? null : toRecordedEvent(row);
  }

  async streamInfo(stream: StreamId): Promise<StreamInfo | null> {
    this.#ensureOpen();
    const [first, last] = this.#run(() => [
      this.#statements.streamFirst.get(stream),
      this.#statements.streamLast.get(stream),
    ]);
    if (first === undefined || last === undefined) return null;
    assert(first.revision === 0n, 'a stream starts at revision 0');
    assert(first.position <= last.position, 'a stream is in log order');
    return {
      stream,
      revision: last.revision,
      firstPosition: formatSequencePosition(first.position),
      lastPosition: formatSequencePosition(last.position),
      createdAt: first.recorded_at,
      updatedAt: last.recorded_at,
    };
  }

  async headPosition(): Promise<GlobalPosition | null> {
    this.#ensureOpen();
    const head = this.#run(() => this.#statements.head.get() ?? null);
    return head === null ? null : formatSequencePosition(head);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.database.close();
  }

  #ensureOpen(): void {
    if (this.#closed)
      throw new AevonError('AEV_STORAGE_UNAVAILABLE', { reason: 'storage is closed' });
  }

  #checkLimit(limit: number): void {
    assert(Number.isSafeInteger(limit) && limit >= 1, 'a read limit is a positive integer');
    assert(
      limit <= this.limits.readPageEventsMax,
      'a read page is at most readPageEventsMax events',
    );
  }

  /** Runs a read, turning a driver failure into AEV_STORAGE_UNAVAILABLE. */
  #run<T>(read: () => T): T {
    try {
      return read();
    } catch (error) {
      if (error instanceof AssertionError) throw error;
      throw unavailable('a read failed', error);
    }
  }
}
