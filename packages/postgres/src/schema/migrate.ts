import { AevonError, assert } from '@aevon/core';
import type { Pool, PoolClient } from 'pg';
import { toStorageError } from '../postgres-error.js';
import type { Migration } from './migrations.js';
import { eventLogMigrations } from './migrations.js';

/** Options for {@link migrate} and {@link checkSchemaVersion}. */
export interface MigrateOptions {
  /** The PostgreSQL schema (namespace) holding the tables. Default: `aevon`. */
  readonly schema?: string;
  /** The ordered list to apply. Default: {@link eventLogMigrations}. */
  readonly migrations?: readonly Migration[];
}

/** What {@link migrate} did. */
export interface MigrateResult {
  /** Versions applied by this call, in order (empty when the schema was current). */
  readonly applied: readonly number[];
  /** The highest version now recorded. */
  readonly version: number;
}

const schemaPattern = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Quotes a schema name for SQL after checking it is a plain lower-case identifier, so that it can never inject SQL
 * and means the same quoted or not.
 * @throws AEV_CONFIG_INVALID for any other name.
 */
export function quoteSchema(schema: string): string {
  if (!schemaPattern.test(schema)) {
    throw new AevonError('AEV_CONFIG_INVALID', {
      reason: `schema ${JSON.stringify(schema)} must match ${schemaPattern.source}`,
    });
  }
  return `"${schema}"`;
}

/**
 * Applies the migrations of `options.migrations` not yet recorded in `<schema>.schema_migrations`, in version order,
 * each in its own transaction. A session advisory lock keyed on the schema makes concurrent callers (several nodes
 * starting at once) take turns: the second finds the work done. Versions recorded in the database but absent from
 * the list are left alone (a newer build or another module wrote them).
 * @throws AEV_CONFIG_INVALID for a malformed list, or a recorded version whose name differs from the list's;
 *   AEV_STORAGE_UNAVAILABLE when the database fails (the failing migration is rolled back; earlier ones stay).
 */
export async function migrate(pool: Pool, options: MigrateOptions = {}): Promise<MigrateResult> {
  const schema = options.schema ?? 'aevon';
  const quoted = quoteSchema(schema);
  const migrations = checkMigrationList(options.migrations ?? eventLogMigrations);
  let client: PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw toStorageError('migrate', error);
  }
  let broken = false;
  try {
    await client.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [
      `aevon.migrate:${schema}`,
    ]);
    try {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoted}`);
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${quoted}.schema_migrations (
           version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
      );
      const recorded = await appliedVersions(client, quoted);
      const applied: number[] = [];
      for (const migration of migrations) {
        const name = recorded.get(migration.version);
        if (name !== undefined) {
          if (name !== migration.name) throw renamed(migration, name);
          continue;
        }
        await applyOne(client, quoted, migration);
        applied.push(migration.version);
        recorded.set(migration.version, migration.name);
      }
      return { applied, version: Math.max(0, ...recorded.keys()) };
    } finally {
      await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [
        `aevon.migrate:${schema}`,
      ]);
    }
  } catch (error) {
    broken = !(error instanceof AevonError);
    throw toStorageError('migrate', error);
  } finally {
    // A client whose session may hold the lock or an aborted transaction is destroyed rather than reused.
    client.release(broken);
  }
}

/**
 * Checks, without changing anything, that every migration of the list is recorded in the schema.
 * @returns the highest version recorded.
 * @throws AEV_STORAGE_SCHEMA_MISMATCH when one is missing (including an empty database: run `aevon migrate`);
 *   AEV_STORAGE_UNAVAILABLE when the database fails.
 */
export async function checkSchemaVersion(
  pool: Pool,
  options: MigrateOptions = {},
): Promise<number> {
  const quoted = quoteSchema(options.schema ?? 'aevon');
  const migrations = checkMigrationList(options.migrations ?? eventLogMigrations);
  const expected = Math.max(0, ...migrations.map((m) => m.version));
  let recorded: Map<number, string>;
  try {
    const exists = await pool.query<{ present: boolean }>(
      `SELECT to_regclass($1) IS NOT NULL AS present`,
      [`${quoted}.schema_migrations`],
    );
    recorded =
      exists.rows[0]?.present === true
        ? await appliedVersions(pool, quoted)
        : new Map<number, string>();
  } catch (error) {
    throw toStorageError('schema version check', error);
  }
  const actual = Math.max(0, ...recorded.keys());
  for (const migration of migrations) {
    if (!recorded.has(migration.version)) {
      throw new AevonError('AEV_STORAGE_SCHEMA_MISMATCH', { expected, actual });
    }
  }
  return actual;
}

async function appliedVersions(
  client: Pool | PoolClient,
  quoted: string,
): Promise<Map<number, string>> {
  const result = await client.query<{ version: number; name: string }>(
    `SELECT version, name FROM ${quoted}.schema_migrations ORDER BY version`,
  );
  return new Map(result.rows.map((row) => [row.version, row.name]));
}

async function applyOne(client: PoolClient, quoted: string, migration: Migration): Promise<void> {
  await client.query('BEGIN');
  try {
    // SET LOCAL ends with the transaction, so the pooled session keeps its own search_path afterwards.
    await client.query(`SET LOCAL search_path TO ${quoted}`);
    await client.query(migration.sql);
    await client.query(`INSERT INTO ${quoted}.schema_migrations (version, name) VALUES ($1, $2)`, [
      migration.version,
      migration.name,
    ]);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

function checkMigrationList(migrations: readonly Migration[]): readonly Migration[] {
  let previous = 0;
  for (const migration of migrations) {
    if (
      !Number.isSafeInteger(migration.version) ||
      migration.version <= previous ||
      migration.name === ''
    ) {
      throw new AevonError('AEV_CONFIG_INVALID', {
        reason:
          `migration ${JSON.stringify(migration.name)} (version ${migration.version}) must have a name and a ` +
          `version above ${previous}`,
      });
    }
    previous = migration.version;
  }
  assert(
    migrations.length === 0 || previous > 0,
    'a non-empty migration list has a positive last version',
  );
  return migrations;
}

function renamed(migration: Migration, recordedName: string): AevonError<'AEV_CONFIG_INVALID'> {
  return new AevonError('AEV_CONFIG_INVALID', {
    reason:
      `migration ${migration.version} is recorded as ${JSON.stringify(recordedName)} but this build calls it ` +
      JSON.stringify(migration.name),
  });
}
