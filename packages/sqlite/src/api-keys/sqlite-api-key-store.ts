import type { ApiKeyRecord, ApiKeyScope, ApiKeyStore } from '@aevon/core';
import { apiKeyListMax, assert, assertApiKeyRecord } from '@aevon/core';
import type { Migration } from '../schema/migrations.js';
import { applyMigrations } from '../schema/migrations.js';
import type { SqliteStorage } from '../sqlite-storage.js';

/**
 * The API key store's SQLite schema, applied with {@link applyMigrations} next to the event log's (version 2000 and
 * up; the metering store uses 1000 and up). `scopes` is the space-separated list; `secret_hash` the SHA-256 of the
 * secret in hex. Rows are never deleted: revoking sets `revoked_at`.
 */
export const sqliteApiKeyMigrations: readonly Migration[] = [
  {
    version: 2000,
    name: 'api_keys',
    sql: `
      CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        scopes TEXT NOT NULL,
        secret_hash TEXT NOT NULL,
        created_at TEXT NOT NULL,
        revoked_at TEXT
      ) STRICT;
    `,
  },
];

interface KeyRow {
  readonly id: string;
  readonly name: string;
  readonly scopes: string;
  readonly secret_hash: string;
  readonly created_at: string;
  readonly revoked_at: string | null;
}

const columns = 'id, name, scopes, secret_hash, created_at, revoked_at';

/**
 * An {@link ApiKeyStore} in the SQLite database of an event log: applies {@link sqliteApiKeyMigrations}, then works
 * on the storage's shared connection. Another process on the same file (`aevon keys` next to a running server) sees
 * each write once it commits (WAL).
 */
export function createSqliteApiKeyStore(storage: SqliteStorage): ApiKeyStore {
  const db = storage.database;
  applyMigrations(db, sqliteApiKeyMigrations);
  const insert = db.prepare<[string, string, string, string, string]>(
    'INSERT INTO api_keys (id, name, scopes, secret_hash, created_at) VALUES (?, ?, ?, ?, ?)',
  );
  const selectOne = db.prepare<[string], KeyRow>(`SELECT ${columns} FROM api_keys WHERE id = ?`);
  const selectAll = db.prepare<[number], KeyRow>(
    `SELECT ${columns} FROM api_keys ORDER BY created_at, id LIMIT ?`,
  );
  const revokeOne = db.prepare<[string, string], KeyRow>(
    `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ? RETURNING ${columns}`,
  );
  const selectAny = db.prepare<[], number>('SELECT EXISTS (SELECT 1 FROM api_keys)').pluck();

  const create = (record: ApiKeyRecord): void =>
    storage.transaction(() => {
      assertApiKeyRecord(record);
      assert(record.revokedAt === null, 'a new API key is not revoked');
      assert(selectOne.get(record.id) === undefined, 'an API key id is new');
      insert.run(
        record.id,
        record.name,
        record.scopes.join(' '),
        record.secretHash,
        record.createdAt,
      );
    });
  const revoke = (id: string, revokedAt: string): ApiKeyRecord | null =>
    storage.transaction(() => {
      const row = revokeOne.get(revokedAt, id);
      return row === undefined ? null : toRecord(row);
    });
  return {
    create: async (record) => create(record),
    find: async (id) => {
      const row = selectOne.get(id);
      return row === undefined ? null : toRecord(row);
    },
    list: async () => selectAll.all(apiKeyListMax).map(toRecord),
    revoke: async (id, revokedAt) => revoke(id, revokedAt),
    hasAnyKey: async () => selectAny.get() === 1,
    close: async () => undefined,
  };
}

function toRecord(row: KeyRow): ApiKeyRecord {
  const record: ApiKeyRecord = {
    id: row.id,
    name: row.name,
    scopes: row.scopes.split(' ') as ApiKeyScope[],
    secretHash: row.secret_hash,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
  };
  // Paired with the check before the INSERT: what comes back is what a store may have written.
  assertApiKeyRecord(record);
  return record;
}
