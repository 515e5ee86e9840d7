// The HTTP API has no sweep progress signal: `staleness_seconds` is always 0 and `data_through` is the earlier of
// the range end and now, because a query merges the raw tail. So the benchmark reads the engine's own checkpoint
// (table `sweep_checkpoints`, row `metering`) next to the log, and counts the events after it. For the rebuild it
// also empties the metering tables (`pre_aggregates`, `pre_aggregate_rollups` and that checkpoint row) while the server is stopped.
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { meteringCheckpointName } from '@aevon/core';

/** Reads (and for a rebuild, resets) the sweep's progress in an engine's database. */
export interface SweepBacklogProbe {
  /** Events after the sweep checkpoint (every event when there is no checkpoint yet). */
  backlog(): Promise<number>;
  /** The stored metering checkpoint as the engine wrote it, or null before the first sweep step. */
  checkpoint(): Promise<string | null>;
  /**
   * The position of the last event of the log, formatted as the engine formats a checkpoint (so a sweep that has
   * caught up has `checkpoint() === head()`), or null for an empty log.
   */
  head(): Promise<string | null>;
  /**
   * Deletes every pre-aggregate and the metering checkpoint, so that the next sweep folds the whole log again from
   * an empty checkpoint. Only while no server runs on the database.
   */
  resetMetering(): Promise<void>;
  close(): Promise<void>;
}

/** A SQLite position, and so a SQLite checkpoint: the rowid zero-padded to 20 digits. */
function sqlitePosition(rowid: number | bigint): string {
  return rowid.toString().padStart(20, '0');
}

/** A probe on a SQLite file, opened for each call (WAL lets it read beside the server's writer). */
export function createSqliteBacklogProbe(path: string): SweepBacklogProbe {
  const withDb = <T>(readonly: boolean, body: (db: BetterSqlite3.Database) => T): T => {
    const db = new BetterSqlite3(path, { readonly, fileMustExist: true });
    try {
      return body(db);
    } finally {
      db.close();
    }
  };
  return {
    backlog: async () =>
      withDb(true, (db) => {
        // A SQLite checkpoint is the 20-digit position of the last folded event (a rowid).
        const count = db
          .prepare<[string], number>(
            `SELECT count(*) FROM events WHERE position > coalesce(
               (SELECT CAST(position AS INTEGER) FROM sweep_checkpoints WHERE name = ?), 0)`,
          )
          .pluck()
          .get(meteringCheckpointName);
        return count ?? 0;
      }),
    checkpoint: async () =>
      withDb(
        true,
        (db) =>
          db
            .prepare<[string], string>('SELECT position FROM sweep_checkpoints WHERE name = ?')
            .pluck()
            .get(meteringCheckpointName) ?? null,
      ),
    head: async () =>
      withDb(true, (db) => {
        const last = db
          .prepare<[], number | null>('SELECT max(position) FROM events')
          .pluck()
          .get();
        return last === null || last === undefined ? null : sqlitePosition(last);
      }),
    resetMetering: async () =>
      withDb(false, (db) => {
        db.transaction(() => {
          db.prepare('DELETE FROM pre_aggregates').run();
          db.prepare('DELETE FROM pre_aggregate_rollups').run();
          db.prepare('DELETE FROM sweep_checkpoints WHERE name = ?').run(meteringCheckpointName);
        })();
      }),
    close: async () => undefined,
  };
}

/** A probe on a PostgreSQL database whose log is in schema `aevon` (the server's default). */
export async function createPostgresBacklogProbe(dbUrl: string): Promise<SweepBacklogProbe> {
  const client = new pg.Client({ connectionString: dbUrl });
  await client.connect();
  return {
    backlog: async () => {
      // A PostgreSQL checkpoint is `<tx_id>-<seq>`, each zero-padded to 20 digits. The numeric cast drops the
      // padding: xid8's input reads a leading 0 as octal.
      const result = await client.query<{ n: string }>(
        `SELECT count(*)::text AS n FROM aevon.events
         WHERE NOT EXISTS (SELECT 1 FROM aevon.sweep_checkpoints WHERE name = $1)
            OR (tx_id, seq) > (SELECT split_part(position, '-', 1)::numeric::text::xid8,
                                      split_part(position, '-', 2)::bigint
                               FROM aevon.sweep_checkpoints WHERE name = $1)`,
        [meteringCheckpointName],
      );
      return Number(result.rows[0]?.n ?? 0);
    },
    checkpoint: async () => {
      const result = await client.query<{ position: string }>(
        'SELECT position FROM aevon.sweep_checkpoints WHERE name = $1',
        [meteringCheckpointName],
      );
      return result.rows[0]?.position ?? null;
    },
    head: async () => {
      const result = await client.query<{ tx: string; seq: string }>(
        // Sort on the columns, never on the text outputs (ORDER BY seq would name the text alias: '99999' > '100000').
        'SELECT e.tx_id::text AS tx, e.seq::text AS seq FROM aevon.events AS e ORDER BY e.tx_id DESC, e.seq DESC LIMIT 1',
      );
      const row = result.rows[0];
      return row === undefined ? null : `${row.tx.padStart(20, '0')}-${row.seq.padStart(20, '0')}`;
    },
    resetMetering: async () => {
      // TRUNCATE rather than DELETE: the rebuild then writes into an empty table, as after a real reset, instead
      // of beside a million dead rows waiting for vacuum.
      await client.query('BEGIN');
      try {
        await client.query('TRUNCATE aevon.pre_aggregates, aevon.pre_aggregate_rollups');
        await client.query('DELETE FROM aevon.sweep_checkpoints WHERE name = $1', [
          meteringCheckpointName,
        ]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      }
    },
    close: () => client.end(),
  };
}
