import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { clearTimeout, setTimeout as startTimer } from 'node:timers';
import type { Database } from 'better-sqlite3';
import { AevonError, assert } from '@aevon/core';

/** A query already guarded, its parameters bound as SQLite values. */
export interface QueryJob {
  readonly sql: string;
  /** `{ p1: value, ... }`: the `$n` parameters as `rewriteSql` names them. */
  readonly params: Readonly<Record<string, null | bigint | number | string>>;
  readonly rowsMax: number;
  /** Most bytes of values (strings as UTF-8, blobs, 8 per number) the rows may hold; beyond, the query fails. */
  readonly bytesMax: number;
  readonly timeoutMs: number;
  /** The TEMP VIEWs that name aggregates (`account` → `agg_account`), recreated when `version` moves. */
  readonly views: { readonly version: number; readonly statements: readonly string[] };
}

/** A result column: its origin table and column when it is a direct column of a table (else null). */
export interface RawColumn {
  readonly name: string;
  readonly table: string | null;
  readonly column: string | null;
}

/** What a query gave, values as SQLite returned them (integers as bigints). */
export interface RawResult {
  readonly columns: readonly RawColumn[];
  readonly rows: readonly (readonly unknown[])[];
  readonly truncated: boolean;
}

/** The bytes of values one query result may hold ({@link QueryJob.bytesMax}). */
export const sqlResultBytesMax = 16 * 1024 * 1024;

/** Bytes a row's values count for against {@link QueryJob.bytesMax} (the query process counts the same way). */
export function rowBytes(row: readonly unknown[]): number {
  let bytes = 0;
  for (const value of row) {
    if (typeof value === 'string') bytes += Buffer.byteLength(value);
    else if (value instanceof Uint8Array) bytes += value.length;
    else bytes += 8;
  }
  return bytes;
}

/** How long a refused caller is told to wait before retrying, when the query queue is full. */
export const sqlRetryAfterMs = 1000;

/**
 * Replaces the TEMP VIEWs of `db` with `statements` (each a `CREATE TEMP VIEW`): used by the parent's connection and
 * the query process, which runs the same code as text (see {@link queryProcessSource}).
 */
export function replaceViews(db: Database, statements: readonly string[]): void {
  // A read of main's schema first: the connection then notices that another one rebuilt a table, and `SELECT *`
  // below expands to the new columns (parsing a CREATE VIEW alone uses the schema it had cached).
  db.prepare('SELECT count(*) FROM main.sqlite_master').get();
  const views = db
    .prepare<[], string>("SELECT name FROM sqlite_temp_schema WHERE type = 'view'")
    .pluck()
    .all();
  for (const name of views) db.exec(`DROP VIEW temp."${name.replace(/"/g, '""')}"`);
  for (const statement of statements) db.exec(statement);
}

/**
 * The query process's program (CommonJS, run with `node -e`): it opens the database read-only (`query_only` on),
 * then runs one job per message and answers with its columns and at most `rowsMax` rows. Kept as text so that it
 * runs the same from the sources (tests) and from the build, with nothing but better-sqlite3 to load. It exits when
 * its parent goes away.
 */
const queryProcessSource = `
'use strict';
const Database = require(process.env.AEVON_QUERY_DRIVER);
const db = new Database(process.env.AEVON_QUERY_DATABASE, { readonly: true, fileMustExist: true });
db.defaultSafeIntegers(true);
db.pragma('query_only = ON');
let viewsVersion = -1;
process.on('disconnect', () => process.exit(0));
process.on('message', (job) => {
  try {
    if (job.views.version !== viewsVersion) {
      db.pragma('query_only = OFF');
      try {
        // Reload main's schema first (see replaceViews).
        db.prepare('SELECT count(*) FROM main.sqlite_master').get();
        const names = db.prepare("SELECT name FROM sqlite_temp_schema WHERE type = 'view'").pluck().all();
        for (const name of names) db.exec('DROP VIEW temp."' + name.replace(/"/g, '""') + '"');
        for (const statement of job.views.statements) db.exec(statement);
      } finally {
        db.pragma('query_only = ON');
      }
      viewsVersion = job.views.version;
    }
    const statement = db.prepare(job.sql);
    if (!statement.reader || !statement.readonly) throw new Error('only a read-only query is accepted');
    const columns = statement.columns().map((c) => ({ name: c.name, table: c.table, column: c.column }));
    statement.raw(true);
    const rows = [];
    let truncated = false;
    let bytes = 0;
    for (const row of statement.iterate(job.params)) {
      if (rows.length === job.rowsMax) { truncated = true; break; }
      for (const value of row) {
        bytes += typeof value === 'string' ? Buffer.byteLength(value) : value instanceof Uint8Array ? value.length : 8;
      }
      if (bytes > job.bytesMax) throw new Error('the result holds more than ' + job.bytesMax + ' bytes: select fewer rows or columns');
      rows.push(row);
    }
    process.send({ id: job.id, ok: true, result: { columns, rows, truncated } });
  } catch (error) {
    process.send({ id: job.id, ok: false, message: error instanceof Error ? error.message : String(error) });
  }
});
`;

type Reply =
  | { readonly id: number; readonly ok: true; readonly result: RawResult }
  | { readonly id: number; readonly ok: false; readonly message: string };

interface Pending {
  readonly id: number;
  readonly job: QueryJob;
  readonly resolve: (result: RawResult) => void;
  readonly reject: (error: unknown) => void;
  timer?: ReturnType<typeof setTimeout>;
}

/**
 * Runs queries of a database file in one child process, one at a time, so that a timeout really stops a query:
 * better-sqlite3 cannot interrupt a statement, so on timeout the process is killed (SIGKILL) and the next query
 * starts a new one. The process is started lazily and reused; at most `queueMax` queries wait behind the running
 * one, further ones are refused with `AEV_OVERLOADED`. It never keeps the parent alive.
 */
export class QueryProcess {
  readonly #path: string;
  readonly #queueMax: number;
  readonly #queue: Pending[] = [];
  #running: Pending | null = null;
  #child: ChildProcess | null = null;
  #nextId = 1;
  #closed = false;

  constructor(path: string, queueMax: number) {
    assert(Number.isSafeInteger(queueMax) && queueMax >= 0, 'queueMax is a non-negative integer');
    this.#path = path;
    this.#queueMax = queueMax;
  }

  /**
   * Runs `job`; its timeout counts from when it starts running.
   * @throws AEV_SQL_TIMEOUT, AEV_SQL_INVALID (the driver refused it), AEV_OVERLOADED, AEV_STORAGE_UNAVAILABLE
   */
  run(job: QueryJob): Promise<RawResult> {
    if (this.#closed)
      return Promise.reject(
        new AevonError('AEV_STORAGE_UNAVAILABLE', { reason: 'storage is closed' }),
      );
    if (this.#running !== null && this.#queue.length >= this.#queueMax) {
      return Promise.reject(
        new AevonError('AEV_OVERLOADED', {
          queued: this.#queue.length,
          max: this.#queueMax,
          retryAfterMs: sqlRetryAfterMs,
        }),
      );
    }
    return new Promise<RawResult>((resolve, reject) => {
      this.#queue.push({ id: this.#nextId++, job, resolve, reject });
      this.#pump();
    });
  }

  /** Kills the process and fails every waiting query. */
  close(): void {
    this.#closed = true;
    const closed = new AevonError('AEV_STORAGE_UNAVAILABLE', { reason: 'storage is closed' });
    for (const pending of this.#queue.splice(0)) pending.reject(closed);
    const running = this.#running;
    this.#running = null;
    if (running !== null) {
      clearTimeout(running.timer);
      running.reject(closed);
    }
    this.#kill();
  }

  /** The running child's process id (for tests), or null when none runs. */
  get pid(): number | null {
    return this.#child?.pid ?? null;
  }

  #pump(): void {
    if (this.#running !== null || this.#closed) return;
    const pending = this.#queue.shift();
    if (pending === undefined) return;
    this.#running = pending;
    let child: ChildProcess;
    try {
      child = this.#ensureChild();
    } catch (error) {
      this.#finish(pending, () =>
        pending.reject(
          new AevonError(
            'AEV_STORAGE_UNAVAILABLE',
            { reason: 'cannot start the query process' },
            { cause: error },
          ),
        ),
      );
      return;
    }
    pending.timer = startTimer(() => {
      // The only way to stop a running SQLite statement here: kill its process; the next job starts another.
      this.#kill();
      this.#finish(pending, () =>
        pending.reject(new AevonError('AEV_SQL_TIMEOUT', { timeoutMs: pending.job.timeoutMs })),
      );
    }, pending.job.timeoutMs);
    child.send({ id: pending.id, ...pending.job });
  }

  #finish(pending: Pending, settle: () => void): void {
    if (this.#running !== pending) return;
    clearTimeout(pending.timer);
    this.#running = null;
    settle();
    this.#pump();
  }

  #ensureChild(): ChildProcess {
    if (this.#child !== null) return this.#child;
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    const child = spawn(process.execPath, ['-e', queryProcessSource], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      serialization: 'advanced',
      env: { AEVON_QUERY_DRIVER: driver, AEVON_QUERY_DATABASE: this.#path },
    });
    this.#child = child;
    child.unref();
    child.channel?.unref();
    // The child exits when its IPC channel closes, but only between queries: a query stuck in SQLite would outlive
    // this process. Kill it when this process exits (a SIGKILL of this process still leaves it to finish alone).
    const killOnExit = (): void => {
      child.kill('SIGKILL');
    };
    process.on('exit', killOnExit);
    child.on('exit', () => process.off('exit', killOnExit));
    child.on('message', (message: Reply) => {
      const pending = this.#running;
      if (pending === null || pending.id !== message.id) return;
      this.#finish(pending, () => {
        if (message.ok) pending.resolve(message.result);
        else pending.reject(new AevonError('AEV_SQL_INVALID', { reason: message.message }));
      });
    });
    child.on('error', () => this.#lost(child));
    child.on('exit', () => this.#lost(child));
    return child;
  }

  /** The process died (or could not start): fail the running query, and start a new process for the next. */
  #lost(child: ChildProcess): void {
    if (this.#child !== child) return;
    this.#child = null;
    const pending = this.#running;
    if (pending !== null) {
      this.#finish(pending, () =>
        pending.reject(
          new AevonError('AEV_STORAGE_UNAVAILABLE', { reason: 'the query process exited' }),
        ),
      );
    }
  }

  #kill(): void {
    const child = this.#child;
    this.#child = null;
    if (child !== null) child.kill('SIGKILL');
  }
}
