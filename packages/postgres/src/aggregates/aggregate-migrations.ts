import type { Migration } from '../schema/migrations.js';

/**
 * The aggregate store's metadata, in the storage's schema (versions 4000 and up). The aggregate tables themselves
 * live in a schema of their own (`<schema>_aggregates`), created with the store, so that a SQL query can be confined
 * to it.
 *
 * - `aggregate_definitions` holds one row: the definitions version (the count of `aevon.definitions_changed` events).
 *   It is the lock that orders definition changes with typed writes across processes: a writer reads it FOR SHARE
 *   and compares it with the version it validated against; a definitions change updates it.
 * - `aggregate_keys` holds the last serial key given out per (aggregate, column): the next generated key is one more,
 *   and an explicit key raises it. It is transactional, so a rolled-back write leaves no gap.
 * - `aggregate_changes` is the aggregate change feed: each row change a typed event made, at the event's position
 *   `(tx_id, seq)` and its order `ord` within the event. It is read below the watermark, as the log is. Rows are JSON
 *   (`json`, not `jsonb`), so that a row's columns keep their table order.
 */
export const postgresAggregateMigrations: readonly Migration[] = [
  {
    version: 4000,
    name: 'aggregate-store',
    sql: `
CREATE TABLE aggregate_definitions (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  version integer NOT NULL CHECK (version >= 0)
);
INSERT INTO aggregate_definitions (singleton, version) VALUES (true, 0);
CREATE TABLE aggregate_keys (
  aggregate text NOT NULL,
  column_name text NOT NULL,
  last_key bigint NOT NULL,
  PRIMARY KEY (aggregate, column_name)
);
CREATE TABLE aggregate_changes (
  tx_id xid8 NOT NULL,
  seq bigint NOT NULL,
  ord integer NOT NULL CHECK (ord >= 0),
  event_id text NOT NULL,
  aggregate text NOT NULL,
  key json NOT NULL,
  operation text NOT NULL CHECK (operation IN ('insert', 'update')),
  before json,
  after json NOT NULL,
  PRIMARY KEY (tx_id, seq, ord)
);
CREATE INDEX aggregate_changes_by_aggregate ON aggregate_changes (aggregate, tx_id, seq, ord);
`,
  },
];
