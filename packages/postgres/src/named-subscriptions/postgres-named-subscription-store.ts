import type { NamedSubscriptionRecord, NamedSubscriptionStore } from '@aevon/core';
import { namedSubscriptionFromRow } from '@aevon/core';
import type { NamedSubscriptionRow } from '@aevon/core';
import { assert, assertNamedSubscriptionRecord, namedSubscriptionListMax } from '@aevon/core';
import { toStorageError } from '../postgres-error.js';
import type { PostgresStorage } from '../postgres-storage.js';
import { migrate, quoteSchema } from '../schema/migrate.js';
import type { Migration } from '../schema/migrations.js';

/**
 * The named subscriptions' PostgreSQL schema, applied by {@link migrate} after the event log's (version 3000 and up;
 * metering uses 1000 and up, API keys 2000 and up). `filter` is the JSON text of the stored filter (text, not jsonb,
 * so that every store returns the same lists in the same order); `position` is the checkpoint as the log writes
 * positions, compared with `COLLATE "C"` so that text order is log order whatever the database's collation.
 */
export const postgresNamedSubscriptionMigrations: readonly Migration[] = [
  {
    version: 3000,
    name: 'named-subscriptions',
    sql: `
CREATE TABLE named_subscriptions (
  name text COLLATE "C" PRIMARY KEY,
  filter text NOT NULL,
  position text COLLATE "C",
  created_at text NOT NULL,
  updated_at text NOT NULL
);
`,
  },
];

/** Options for {@link createPostgresNamedSubscriptionStore}. */
export interface PostgresNamedSubscriptionStoreOptions {
  /**
   * Apply {@link postgresNamedSubscriptionMigrations} now (under the migration advisory lock). Default: true, as for
   * the API key store. With false, nothing is checked here; `aevon migrate` must have run.
   */
  readonly migrate?: boolean;
}

interface SubscriptionRow extends NamedSubscriptionRow {
  readonly is_created?: boolean;
}

const columns = 'name, filter, position, created_at, updated_at';

/**
 * A {@link NamedSubscriptionStore} in the PostgreSQL database (and schema) of an event log: every node on the
 * database sees the same subscriptions. Each operation is one statement (autocommit); `advance` compares and sets in
 * its UPDATE, so concurrent acknowledgements keep the furthest one.
 */
export async function createPostgresNamedSubscriptionStore(
  storage: PostgresStorage,
  options: PostgresNamedSubscriptionStoreOptions = {},
): Promise<NamedSubscriptionStore> {
  const { pool, schema } = storage;
  const table = `${quoteSchema(schema)}.named_subscriptions`;
  if (options.migrate ?? true)
    await migrate(pool, { schema, migrations: postgresNamedSubscriptionMigrations });
  const query = async (
    operation: string,
    text: string,
    values: unknown[],
  ): Promise<SubscriptionRow[]> => {
    try {
      return (await pool.query<SubscriptionRow>(text, values)).rows;
    } catch (error) {
      throw toStorageError(`named subscriptions: ${operation}`, error);
    }
  };
  return {
    put: async (input) => {
      const draft: NamedSubscriptionRecord = {
        name: input.name,
        filter: input.filter,
        position: input.position,
        createdAt: input.at,
        updatedAt: input.at,
      };
      assertNamedSubscriptionRecord(draft);
      // xmax = 0 holds for a row this statement inserted, not for one it updated.
      const rows = await query(
        'put',
        `INSERT INTO ${table} AS s (${columns}) VALUES ($1, $2, $3, $4, $4)
         ON CONFLICT (name) DO UPDATE SET filter = EXCLUDED.filter, updated_at = EXCLUDED.updated_at,
           position = CASE WHEN $5 THEN EXCLUDED.position ELSE s.position END
         RETURNING ${columns}, (xmax = 0) AS is_created`,
        [input.name, JSON.stringify(input.filter), input.position, input.at, input.resetPosition],
      );
      const row = rows[0];
      assert(row !== undefined, 'an upsert returns its row');
      return { record: namedSubscriptionFromRow(row), isCreated: row.is_created === true };
    },
    find: async (name) => {
      const rows = await query('find', `SELECT ${columns} FROM ${table} WHERE name = $1`, [name]);
      return rows[0] === undefined ? null : namedSubscriptionFromRow(rows[0]);
    },
    list: async () => {
      const rows = await query('list', `SELECT ${columns} FROM ${table} ORDER BY name LIMIT $1`, [
        namedSubscriptionListMax,
      ]);
      return rows.map(namedSubscriptionFromRow);
    },
    advance: async (name, position, at) => {
      // One statement: the row after the update, or as it stands when the position is not ahead.
      const rows = await query(
        'advance',
        `WITH moved AS (
           UPDATE ${table} SET position = $2, updated_at = $3
           WHERE name = $1 AND (position IS NULL OR position < $2)
           RETURNING ${columns}
         )
         SELECT ${columns} FROM moved
         UNION ALL
         SELECT ${columns} FROM ${table} WHERE name = $1 AND NOT EXISTS (SELECT 1 FROM moved)`,
        [name, position, at],
      );
      return rows[0] === undefined ? null : namedSubscriptionFromRow(rows[0]);
    },
    delete: async (name) => {
      const rows = await query(
        'delete',
        `DELETE FROM ${table} WHERE name = $1 RETURNING ${columns}`,
        [name],
      );
      return rows.length > 0;
    },
    close: async () => undefined,
  };
}
