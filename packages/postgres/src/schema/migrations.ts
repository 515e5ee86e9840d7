/**
 * One versioned schema change. `sql` runs in its own transaction with `search_path` set to the target schema, so it
 * names tables unqualified; `version`s are positive integers, strictly increasing along a list.
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/**
 * The event log's schema, in order. Other modules that keep tables next to the log (metering, projections) append
 * theirs with higher versions and pass the joined list to {@link migrate}.
 *
 * - `events.data` and `metadata` are `jsonb`, so that operators and other modules can query payloads in SQL
 *   (`data->>'amount'`). The costs are accepted: key order is not kept (readers get an equal object), and jsonb
 *   rejects NUL, which core validation already rejects for every engine.
 * - `occurred_at` and `recorded_at` are `text`: the client's exact RFC 3339 string comes back unchanged, which a
 *   `timestamptz` would not guarantee (offset and precision are normalized).
 * - `(tx_id, seq)` is the global order. `tx_id` is the writing transaction's `xid8`; readers only return rows below
 *   `pg_snapshot_xmin(pg_current_snapshot())`, so that a transaction that commits late can never land behind a
 *   position a reader has already passed.
 * - `streams` holds each stream's last revision. Appends lock its row, which serializes writers of one stream across
 *   processes; a committed row always has `revision >= 0` (a transaction may reserve a row at -1 while it holds the
 *   lock, and removes it before committing if nothing was written).
 */
export const eventLogMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'event-log',
    sql: `
CREATE TABLE events (
  tx_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
  seq bigint GENERATED ALWAYS AS IDENTITY,
  id text NOT NULL,
  stream text NOT NULL,
  revision bigint NOT NULL CHECK (revision >= 0),
  type text NOT NULL,
  schema_version integer NOT NULL DEFAULT 0,
  data jsonb NOT NULL,
  metadata jsonb NOT NULL DEFAULT '{}',
  occurred_at text NOT NULL,
  recorded_at text NOT NULL,
  correlation_id text,
  causation_id text,
  CONSTRAINT events_pkey PRIMARY KEY (tx_id, seq),
  CONSTRAINT events_id_key UNIQUE (id),
  CONSTRAINT events_stream_revision_key UNIQUE (stream, revision)
);
CREATE TABLE streams (
  stream text PRIMARY KEY,
  revision bigint NOT NULL CHECK (revision >= -1)
);
`,
  },
];

/** The schema version this build of the event log needs. */
export const eventLogSchemaVersion: number = eventLogMigrations.reduce(
  (max, m) => Math.max(max, m.version),
  0,
);
