import type { GlobalPosition, NamedSubscriptionRecord, NamedSubscriptionStore } from '@aevon/core';
import { namedSubscriptionFromRow } from '@aevon/core';
import type { NamedSubscriptionRow } from '@aevon/core';
import {
  asGlobalPosition,
  assertNamedSubscriptionRecord,
  namedSubscriptionListMax,
} from '@aevon/core';
import type { Migration } from '../schema/migrations.js';
import { applyMigrations } from '../schema/migrations.js';
import type { SqliteStorage } from '../sqlite-storage.js';

/**
 * The named subscriptions' SQLite schema, applied with {@link applyMigrations} next to the event log's (version 3000
 * and up; metering uses 1000 and up, API keys 2000 and up). `filter` is the JSON of the stored filter; `position`
 * the checkpoint as the log writes positions (text, so that it compares in log order), NULL before the first event.
 */
export const sqliteNamedSubscriptionMigrations: readonly Migration[] = [
  {
    version: 3000,
    name: 'named_subscriptions',
    sql: `
      CREATE TABLE named_subscriptions (
        name TEXT PRIMARY KEY,
        filter TEXT NOT NULL,
        position TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      ) STRICT;
    `,
  },
];

const columns = 'name, filter, position, created_at, updated_at';

/**
 * A {@link NamedSubscriptionStore} in the SQLite database of an event log: applies
 * {@link sqliteNamedSubscriptionMigrations}, then works on the storage's shared connection, each call in one
 * transaction. The checkpoint only moves forward through `advance`: the comparison is in the UPDATE itself.
 */
export function createSqliteNamedSubscriptionStore(storage: SqliteStorage): NamedSubscriptionStore {
  const db = storage.database;
  applyMigrations(db, sqliteNamedSubscriptionMigrations);
  const selectOne = db.prepare<[string], NamedSubscriptionRow>(
    `SELECT ${columns} FROM named_subscriptions WHERE name = ?`,
  );
  const selectAll = db.prepare<[number], NamedSubscriptionRow>(
    `SELECT ${columns} FROM named_subscriptions ORDER BY name LIMIT ?`,
  );
  const insert = db.prepare<[string, string, string | null, string, string]>(
    `INSERT INTO named_subscriptions (${columns}) VALUES (?, ?, ?, ?, ?)`,
  );
  const replace = db.prepare<[string, string | null, string, string]>(
    'UPDATE named_subscriptions SET filter = ?, position = ?, updated_at = ? WHERE name = ?',
  );
  // Text comparison is binary in SQLite, which is log order for the log's fixed-width positions.
  const advanceOne = db.prepare<[string, string, string, string], NamedSubscriptionRow>(
    `UPDATE named_subscriptions
     SET position = ?, updated_at = ?
     WHERE name = ? AND (position IS NULL OR position < ?)
     RETURNING ${columns}`,
  );
  const deleteOne = db.prepare<[string]>('DELETE FROM named_subscriptions WHERE name = ?');

  const put: NamedSubscriptionStore['put'] = async (input) =>
    storage.transaction(() => {
      const existing = selectOne.get(input.name);
      const position =
        existing === undefined || input.resetPosition ? input.position : existing.position;
      const record: NamedSubscriptionRecord = {
        name: input.name,
        filter: input.filter,
        position: position === null ? null : asGlobalPosition(position),
        createdAt: existing?.created_at ?? input.at,
        updatedAt: input.at,
      };
      assertNamedSubscriptionRecord(record);
      const filter = JSON.stringify(record.filter);
      if (existing === undefined) {
        insert.run(record.name, filter, record.position, record.createdAt, record.updatedAt);
      } else {
        replace.run(filter, record.position, record.updatedAt, record.name);
      }
      return { record, isCreated: existing === undefined };
    });
  const advance = async (
    name: string,
    position: GlobalPosition,
    at: string,
  ): Promise<NamedSubscriptionRecord | null> =>
    storage.transaction(() => {
      const row = advanceOne.get(position, at, name, position) ?? selectOne.get(name);
      return row === undefined ? null : namedSubscriptionFromRow(row);
    });
  return {
    put,
    find: async (name) => {
      const row = selectOne.get(name);
      return row === undefined ? null : namedSubscriptionFromRow(row);
    },
    list: async () => selectAll.all(namedSubscriptionListMax).map(namedSubscriptionFromRow),
    advance,
    delete: async (name) => deleteOne.run(name).changes > 0,
    close: async () => undefined,
  };
}
