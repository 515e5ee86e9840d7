import type { ApiKeyRecord, ApiKeyScope, ApiKeyStore } from '@aevon/core';
import { apiKeyListMax, assert, assertApiKeyRecord } from '@aevon/core';
import { toStorageError } from '../postgres-error.js';
import type { PostgresStorage } from '../postgres-storage.js';
import { migrate, quoteSchema } from '../schema/migrate.js';
import type { Migration } from '../schema/migrations.js';

/**
 * The API key store's PostgreSQL schema, applied by {@link migrate} after the event log's (version 2000 and up; the
 * metering store uses 1000 and up). Times are text in the RFC 3339 form core uses, so that every store returns the
 * same strings. Rows are never deleted: revoking sets `revoked_at`.
 */
export const postgresApiKeyMigrations: readonly Migration[] = [
  {
    version: 2000,
    name: 'api-keys',
    sql: `
CREATE TABLE api_keys (
  id text PRIMARY KEY,
  name text NOT NULL,
  scopes text[] NOT NULL,
  secret_hash text NOT NULL,
  created_at text NOT NULL,
  revoked_at text
);
`,
  },
];

/** Options for {@link createPostgresApiKeyStore}. */
export interface PostgresApiKeyStoreOptions {
  /**
   * Apply {@link postgresApiKeyMigrations} now (under the migration advisory lock, so concurrent nodes take turns).
   * Default: true, as for the metering store. With false, nothing is checked here; `aevon migrate` must have run.
   */
  readonly migrate?: boolean;
}

interface KeyRow {
  readonly id: string;
  readonly name: string;
  readonly scopes: string[];
  readonly secret_hash: string;
  readonly created_at: string;
  readonly revoked_at: string | null;
}

const columns = 'id, name, scopes, secret_hash, created_at, revoked_at';

/**
 * An {@link ApiKeyStore} in the PostgreSQL database (and schema) of an event log: every node on the database sees
 * the same keys. Each operation is one statement (autocommit), so a revocation is visible to every node as soon as
 * `revoke` resolves.
 */
export async function createPostgresApiKeyStore(
  storage: PostgresStorage,
  options: PostgresApiKeyStoreOptions = {},
): Promise<ApiKeyStore> {
  const { pool, schema } = storage;
  const table = `${quoteSchema(schema)}.api_keys`;
  if (options.migrate ?? true)
    await migrate(pool, { schema, migrations: postgresApiKeyMigrations });
  const query = async (operation: string, text: string, values: unknown[]): Promise<KeyRow[]> => {
    try {
      return (await pool.query<KeyRow>(text, values)).rows;
    } catch (error) {
      throw toStorageError(`API keys: ${operation}`, error);
    }
  };
  return {
    create: async (record) => {
      assertApiKeyRecord(record);
      assert(record.revokedAt === null, 'a new API key is not revoked');
      const rows = await query(
        'create',
        `INSERT INTO ${table} (id, name, scopes, secret_hash, created_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (id) DO NOTHING RETURNING ${columns}`,
        [record.id, record.name, record.scopes, record.secretHash, record.createdAt],
      );
      assert(rows.length === 1, 'an API key id is new');
    },
    find: async (id) => {
      const rows = await query('find', `SELECT ${columns} FROM ${table} WHERE id = $1`, [id]);
      return rows[0] === undefined ? null : toRecord(rows[0]);
    },
    list: async () => {
      // COLLATE "C" orders like the other stores (code points), whatever the database's collation.
      const rows = await query(
        'list',
        `SELECT ${columns} FROM ${table} ORDER BY created_at COLLATE "C", id COLLATE "C" LIMIT $1`,
        [apiKeyListMax],
      );
      return rows.map(toRecord);
    },
    revoke: async (id, revokedAt) => {
      const rows = await query(
        'revoke',
        `UPDATE ${table} SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1 RETURNING ${columns}`,
        [id, revokedAt],
      );
      return rows[0] === undefined ? null : toRecord(rows[0]);
    },
    hasAnyKey: async () => {
      const rows = await query('hasAnyKey', `SELECT id FROM ${table} LIMIT 1`, []);
      return rows.length > 0;
    },
    close: async () => undefined,
  };
}

function toRecord(row: KeyRow): ApiKeyRecord {
  const record: ApiKeyRecord = {
    id: row.id,
    name: row.name,
    scopes: row.scopes as ApiKeyScope[],
    secretHash: row.secret_hash,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
  };
  // Paired with the check before the INSERT: what comes back is what a store may have written.
  assertApiKeyRecord(record);
  return record;
}
