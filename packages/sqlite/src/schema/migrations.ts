import type { Database } from 'better-sqlite3';
import { AevonError, assert } from '@aevon/core';

/**
 * One step of a SQLite schema: `sql` (one or more statements) is applied once, in `version` order, and recorded in
 * `schema_migrations`. Versions are API once released: never renumber or edit an applied migration, add a new one.
 */
export interface Migration {
  /** A positive integer, unique across every module that migrates the same database. */
  readonly version: number;
  /** A short name; a database holding `version` under another name was made by a different build. */
  readonly name: string;
  readonly sql: string;
}

/**
 * The event log's migrations. Other modules sharing the database (metering pre-aggregates) keep their own lists and
 * apply them with {@link applyMigrations}, using versions that do not collide with these (1000 and up is suggested).
 *
 * The `events` table and its column names are read by other modules: keep them. `position` is an alias of the
 * rowid, so with a single writer it is the commit order and gap-free (rowids of rolled-back inserts are reused).
 * `STRICT` makes SQLite enforce the declared column types.
 */
export const sqliteMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'create_events',
    sql: `
      CREATE TABLE events (
        position INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        stream TEXT NOT NULL,
        revision INTEGER NOT NULL CHECK (revision >= 0),
        type TEXT NOT NULL,
        schema_version INTEGER NOT NULL,
        data TEXT NOT NULL,
        metadata TEXT NOT NULL,
        occurred_at TEXT NOT NULL,
        recorded_at TEXT NOT NULL,
        correlation_id TEXT,
        causation_id TEXT,
        UNIQUE (stream, revision)
      ) STRICT;
    `,
  },
];

interface AppliedRow {
  readonly version: number;
  readonly name: string;
}

/**
 * Applies the migrations of `migrations` that `db` does not hold yet, in version order, inside one immediate
 * transaction (a savepoint when the caller is already inside one), and records each in `schema_migrations`.
 * Idempotent: applying the same list again does nothing. Versions held by the database but absent from the list are
 * left alone, since they belong to other modules.
 * @returns the versions applied by this call, in order.
 * @throws AEV_STORAGE_SCHEMA_MISMATCH when the database holds one of the versions under another name.
 */
export function applyMigrations(db: Database, migrations: readonly Migration[]): readonly number[] {
  migrations.forEach((migration, index) => {
    assert(Number.isSafeInteger(migration.version), 'a migration version is an integer');
    assert(migration.version > 0, 'a migration version is positive');
    assert(migration.name.length > 0, 'a migration has a name');
    const previous = migrations[index - 1];
    if (previous !== undefined)
      assert(previous.version < migration.version, 'migrations are in version order');
  });
  const migrate = db.transaction((): number[] => {
    db.exec(
      `CREATE TABLE IF NOT EXISTS schema_migrations (
        version INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        applied_at TEXT NOT NULL
      ) STRICT`,
    );
    const rows = db
      .prepare<[], AppliedRow>('SELECT version, name FROM schema_migrations ORDER BY version')
      .all();
    const applied = new Map(rows.map((row) => [row.version, row.name]));
    const highest = rows[rows.length - 1]?.version ?? 0;
    const record = db.prepare<[number, string]>(
      `INSERT INTO schema_migrations (version, name, applied_at)
       VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`,
    );
    const appliedNow: number[] = [];
    for (const migration of migrations) {
      const name = applied.get(migration.version);
      if (name !== undefined) {
        if (name !== migration.name) {
          throw new AevonError('AEV_STORAGE_SCHEMA_MISMATCH', {
            expected: migration.version,
            actual: highest,
          });
        }
        continue;
      }
      db.exec(migration.sql);
      record.run(migration.version, migration.name);
      appliedNow.push(migration.version);
    }
    return appliedNow;
  });
  return migrate.immediate();
}

/** The versions `db` holds in `schema_migrations`, ascending; empty for a database never migrated. */
export function appliedMigrationVersions(db: Database): readonly number[] {
  const exists = db
    .prepare<[], number>(
      "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
    )
    .pluck()
    .get();
  if (exists === 0) return [];
  return db
    .prepare<[], number>('SELECT version FROM schema_migrations ORDER BY version')
    .pluck()
    .all();
}
