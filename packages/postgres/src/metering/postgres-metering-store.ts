import type {
  BucketDelta,
  BucketListing,
  BucketSelection,
  GlobalPosition,
  MeteringOperator,
  MeteringStore,
  OwnedBucket,
  OwnedRollup,
  RuleReplacement,
  StateReadQuery,
  StateSnapshot,
  StoredBucket,
  SweepLockResult,
  SweepStep,
  TailEvent,
} from '@aevon/core';
import {
  asGlobalPosition,
  assert,
  assertSweepStep,
  bucketWidthMs,
  meteringCheckpointName,
  occurredInRange,
  parseStoredDecimal,
  planBucketReads,
  principalStream,
  rollUpDeltas,
  tailEventsMaxDefault,
  tailPageEventsDefault,
  tailTooLargeError,
} from '@aevon/core';
import type { Pool, PoolClient } from 'pg';
import { formatPostgresPosition, parsePostgresPosition } from '../position.js';
import { toStorageError } from '../postgres-error.js';
import type { PostgresStorage } from '../postgres-storage.js';
import { migrate, quoteSchema } from '../schema/migrate.js';
import { ignore, inTransaction } from '../transaction.js';
import type { Migration } from '../schema/migrations.js';

/**
 * The metering store's PostgreSQL schema, applied by {@link migrate} after the event log's (version 1000 and up).
 * `value` is `numeric`, so sums are exact in SQL. The `events (stream, tx_id, seq)` index makes the tail seek
 * `stream = $1 AND (tx_id, seq) > checkpoint` cost O(tail). (It is built without CONCURRENTLY: on a large existing
 * log, build it by hand with CONCURRENTLY first and this migration finds it.)
 */
export const postgresMeteringMigrations: readonly Migration[] = [
  {
    version: 1000,
    name: 'metering-pre-aggregates',
    sql: `
CREATE TABLE pre_aggregates (
  rule text NOT NULL,
  principal_id text NOT NULL,
  bucket_start bigint NOT NULL,
  event_count bigint NOT NULL CHECK (event_count > 0),
  value numeric NOT NULL,
  PRIMARY KEY (rule, principal_id, bucket_start)
);
CREATE TABLE sweep_checkpoints (
  name text PRIMARY KEY,
  position text NOT NULL
);
CREATE INDEX IF NOT EXISTS events_stream_position ON events (stream, tx_id, seq);
`,
  },
  {
    // The rollups and their coverage day, as SQLite's migration 1001 (ADR 0007).
    version: 1001,
    name: 'metering-rollups',
    sql: `
CREATE TABLE pre_aggregate_rollups (
  rule text NOT NULL,
  principal_id text NOT NULL,
  width bigint NOT NULL,
  bucket_start bigint NOT NULL,
  event_count bigint NOT NULL CHECK (event_count > 0),
  value numeric NOT NULL,
  PRIMARY KEY (rule, principal_id, width, bucket_start)
);
CREATE TABLE pre_aggregate_rollup_coverage (from_ms bigint);
INSERT INTO pre_aggregate_rollup_coverage (from_ms)
  SELECT (floor(max(bucket_start) / 86400000.0)::bigint + 1) * 86400000 FROM pre_aggregates;
`,
  },
];

/** Options for {@link createPostgresMeteringStore}. */
export interface PostgresMeteringStoreOptions {
  /**
   * Apply {@link postgresMeteringMigrations} now (under the migration advisory lock, so concurrent nodes take
   * turns). Default: true. With false, nothing is checked here; `aevon migrate` must have run.
   */
  readonly migrate?: boolean;
  /** Most tail events one state query scans. Default: {@link tailEventsMaxDefault}. */
  readonly tailEventsMax?: number;
}

interface Sql {
  readonly preAggregates: string;
  readonly rollups: string;
  /** Where the rollups are complete (a UTC day), or null for everywhere: read once, at open. */
  readonly rollupsFromMs: number | null;
  readonly checkpoints: string;
  readonly events: string;
  readonly ownerLockKey: string;
  readonly stepLockKey: string;
}

/**
 * A {@link MeteringStore} in the PostgreSQL database (and schema) of an event log; several nodes may share it.
 *
 * - `withSweepLock` holds a session advisory lock on a dedicated connection while the sweep runs: one node sweeps
 *   at a time, and if it dies its session ends and another node takes over at its next tick.
 * - `applySweep` runs in one transaction that takes `pg_try_advisory_xact_lock`, checks the checkpoint still equals
 *   the step's `previous` (else nothing is written), merges the deltas in SQL (`numeric` sums, LEAST/GREATEST) and
 *   moves the checkpoint.
 * - `readState` reads checkpoint, buckets and the tail's first page in one statement (one snapshot, one round trip).
 *   The tail is not limited to the watermark: every committed event after the checkpoint counts (the sweep only
 *   folds below it, so no event committed later can sort at or below the checkpoint).
 */
export async function createPostgresMeteringStore(
  storage: PostgresStorage,
  options: PostgresMeteringStoreOptions = {},
): Promise<MeteringStore> {
  const { pool, schema } = storage;
  const quoted = quoteSchema(schema);
  if (options.migrate ?? true)
    await migrate(pool, { schema, migrations: postgresMeteringMigrations });
  const tailEventsMax = options.tailEventsMax ?? tailEventsMaxDefault;
  assert(
    Number.isSafeInteger(tailEventsMax) && tailEventsMax > 0,
    'tailEventsMax is a positive integer',
  );
  const coverage = await run('open', () =>
    pool.query<{ from_ms: string | null }>(
      `SELECT from_ms::text AS from_ms FROM ${quoted}.pre_aggregate_rollup_coverage`,
    ),
  );
  const fromMs = coverage.rows[0]?.from_ms;
  assert(fromMs !== undefined, 'the rollup coverage table holds its one row');
  const sql: Sql = {
    preAggregates: `${quoted}.pre_aggregates`,
    rollups: `${quoted}.pre_aggregate_rollups`,
    rollupsFromMs: fromMs === null ? null : Number(fromMs),
    checkpoints: `${quoted}.sweep_checkpoints`,
    events: `${quoted}.events`,
    ownerLockKey: `aevon.metering.sweep:${schema}`,
    stepLockKey: `aevon.metering.step:${schema}`,
  };
  return {
    loadCheckpoint: () => run('loadCheckpoint', () => selectCheckpoint(pool, sql)),
    applySweep: (step) =>
      run('applySweep', () => inTransaction(pool, 'BEGIN', (c) => applyStep(c, sql, step))),
    readState: (query) => run('readState', () => readSnapshot(pool, sql, query, tailEventsMax)),
    readBuckets: (selection) =>
      run('readBuckets', () =>
        inTransaction(pool, 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', (c) =>
          selectBuckets(c, sql, selection),
        ),
      ),
    mergeBuckets: (deltas) =>
      run('mergeBuckets', () => inTransaction(pool, 'BEGIN', (c) => upsertBuckets(c, sql, deltas))),
    deleteRule: (rule) =>
      run('deleteRule', () =>
        inTransaction(pool, 'BEGIN', async (c) => {
          await c.query(`DELETE FROM ${sql.rollups} WHERE rule = $1`, [rule]);
          const result = await c.query(`DELETE FROM ${sql.preAggregates} WHERE rule = $1`, [rule]);
          return result.rowCount ?? 0;
        }),
      ),
    replaceRule: (replacement) =>
      run('replaceRule', () =>
        inTransaction(pool, 'BEGIN', (c) => replaceRuleBuckets(c, sql, replacement)),
      ),
    countEventsThrough: (through) =>
      run('countEventsThrough', async () => {
        const { txId, seq } = parsePostgresPosition(through, 'through');
        const result = await pool.query<{ count: string }>(
          `SELECT count(*)::text AS count FROM ${sql.events} WHERE (tx_id, seq) <= ($1::xid8, $2::bigint)`,
          [txId.toString(), seq.toString()],
        );
        return Number(result.rows[0]?.count ?? '0');
      }),
    withSweepLock: (fn) => withSessionLock(pool, sql.ownerLockKey, fn),
    close: async () => undefined,
  };
}

async function run<T>(operation: string, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    throw toStorageError(operation, error);
  }
}

async function selectCheckpoint(
  client: Pool | PoolClient,
  sql: Sql,
): Promise<GlobalPosition | null> {
  const result = await client.query<{ position: string }>(
    `SELECT position FROM ${sql.checkpoints} WHERE name = $1`,
    [meteringCheckpointName],
  );
  const stored = result.rows[0]?.position;
  if (stored === undefined) return null;
  parsePostgresPosition(stored, 'checkpoint');
  return asGlobalPosition(stored);
}

async function applyStep(client: PoolClient, sql: Sql, step: SweepStep): Promise<boolean> {
  assertSweepStep(step);
  const lock = await client.query<{ locked: boolean }>(
    'SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0)) AS locked',
    [sql.stepLockKey],
  );
  if (lock.rows[0]?.locked !== true) return false;
  // Under the transaction lock no other step commits, so the checkpoint read here stays current until COMMIT.
  const stored = await selectCheckpoint(client, sql);
  if (stored !== step.previous) return false;
  await upsertBuckets(client, sql, step.buckets);
  await client.query(
    `INSERT INTO ${sql.checkpoints} (name, position) VALUES ($1, $2)
     ON CONFLICT (name) DO UPDATE SET position = excluded.position`,
    [meteringCheckpointName, step.checkpoint],
  );
  assert((await selectCheckpoint(client, sql)) === step.checkpoint, 'the checkpoint was saved');
  return true;
}

async function selectBuckets(
  client: PoolClient,
  sql: Sql,
  selection: BucketSelection,
): Promise<BucketListing> {
  const checkpoint = await selectCheckpoint(client, sql);
  const result = await client.query<{
    rule: string;
    principal_id: string;
    bucket_start: string;
    event_count: string;
    value: string;
  }>(
    `SELECT p.rule, p.principal_id, p.bucket_start::text AS bucket_start,
            p.event_count::text AS event_count, p.value::text AS value
     FROM ${sql.preAggregates} AS p
     WHERE p.rule = ANY($1::text[]) AND ($2::text IS NULL OR p.principal_id = $2)
     ORDER BY p.rule, p.principal_id, p.bucket_start`,
    [selection.rules, selection.principalId ?? null],
  );
  const buckets = result.rows.map((row): OwnedBucket => ({
    rule: row.rule,
    principalId: row.principal_id,
    ...toStoredBucket(row),
  }));
  const rollupRows = await client.query<{
    rule: string;
    principal_id: string;
    width: string;
    bucket_start: string;
    event_count: string;
    value: string;
  }>(
    `SELECT p.rule, p.principal_id, p.width::text AS width, p.bucket_start::text AS bucket_start,
            p.event_count::text AS event_count, p.value::text AS value
     FROM ${sql.rollups} AS p
     WHERE p.rule = ANY($1::text[]) AND ($2::text IS NULL OR p.principal_id = $2)
       AND ($3::bigint IS NULL OR p.bucket_start >= $3)`,
    [
      selection.rules,
      selection.principalId ?? null,
      sql.rollupsFromMs === null ? null : String(sql.rollupsFromMs),
    ],
  );
  const rollups = rollupRows.rows.map((row): OwnedRollup => ({
    rule: row.rule,
    principalId: row.principal_id,
    widthMs: Number(row.width),
    ...toStoredBucket(row),
  }));
  return { checkpoint, buckets, rollups, rollupsFromMs: sql.rollupsFromMs };
}

/**
 * Swaps a staged rebuild in: waits for the step lock (so no sweep step commits meanwhile), checks the checkpoint,
 * deletes the rule's buckets and renames the staging buckets to it.
 */
async function replaceRuleBuckets(
  client: PoolClient,
  sql: Sql,
  replacement: RuleReplacement,
): Promise<boolean> {
  await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [sql.stepLockKey]);
  if ((await selectCheckpoint(client, sql)) !== replacement.checkpoint) return false;
  for (const table of [sql.preAggregates, sql.rollups]) {
    await client.query(`DELETE FROM ${table} WHERE rule = $1`, [replacement.rule]);
    await client.query(`UPDATE ${table} SET rule = $1 WHERE rule = $2`, [
      replacement.rule,
      replacement.staging,
    ]);
  }
  return true;
}

function toStoredBucket(row: {
  readonly bucket_start: string;
  readonly event_count: string;
  readonly value: string;
}): StoredBucket {
  const value = parseStoredDecimal(row.value);
  assert(value !== null, 'a stored pre-aggregate value is a decimal');
  return { bucketStartMs: Number(row.bucket_start), eventCount: Number(row.event_count), value };
}

const mergeByOperator: Readonly<Record<MeteringOperator, string>> = {
  count: 'p.value + excluded.value',
  sum: 'p.value + excluded.value',
  min: 'LEAST(p.value, excluded.value)',
  max: 'GREATEST(p.value, excluded.value)',
};

async function upsertBuckets(
  client: PoolClient,
  sql: Sql,
  deltas: readonly BucketDelta[],
): Promise<void> {
  const operators: readonly MeteringOperator[] = ['count', 'sum', 'min', 'max'];
  for (const operator of operators) {
    const rows = deltas.filter((delta) => delta.operator === operator);
    if (rows.length === 0) continue;
    await client.query(
      `INSERT INTO ${sql.preAggregates} AS p (rule, principal_id, bucket_start, event_count, value)
       SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::numeric[])
       ON CONFLICT (rule, principal_id, bucket_start) DO UPDATE
       SET event_count = p.event_count + excluded.event_count, value = ${mergeByOperator[operator]}`,
      [
        rows.map((row) => row.rule),
        rows.map((row) => row.principalId),
        rows.map((row) => String(row.bucketStartMs)),
        rows.map((row) => String(row.eventCount)),
        rows.map((row) => row.value),
      ],
    );
  }
  const rollups = rollUpDeltas(deltas);
  for (const operator of operators) {
    const rows = rollups.filter((delta) => delta.operator === operator);
    if (rows.length === 0) continue;
    await client.query(
      `INSERT INTO ${sql.rollups} AS p (rule, principal_id, width, bucket_start, event_count, value)
       SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::numeric[])
       ON CONFLICT (rule, principal_id, width, bucket_start) DO UPDATE
       SET event_count = p.event_count + excluded.event_count, value = ${mergeByOperator[operator]}`,
      [
        rows.map((row) => row.rule),
        rows.map((row) => row.principalId),
        rows.map((row) => String(row.widthMs)),
        rows.map((row) => String(row.bucketStartMs)),
        rows.map((row) => String(row.eventCount)),
        rows.map((row) => row.value),
      ],
    );
  }
}

/**
 * Reads the checkpoint, the planned buckets and the first page of the tail in ONE statement: one snapshot and one
 * round trip. A tail longer than a page goes on in further statements from the last event read; events committed
 * in between are acknowledged events after the same checkpoint, which the buckets never hold, so nothing is counted
 * twice or missed.
 */
async function readSnapshot(
  pool: Pool,
  sql: Sql,
  query: StateReadQuery,
  tailEventsMax: number,
): Promise<StateSnapshot> {
  const plan = planBucketReads(query.fromMs, query.toMs, query.granularity, sql.rollupsFromMs);
  assert(plan.length > 0, 'a state range is not empty');
  const params: string[] = [
    meteringCheckpointName,
    query.rule,
    query.principalId,
    principalStream(query.principalId),
    query.sourceEvent,
    String(tailPageEventsDefault),
  ];
  const scans = plan.map((read) => {
    params.push(String(read.fromMs), String(read.toMs));
    const [table, width] =
      read.widthMs === bucketWidthMs
        ? [sql.preAggregates, '']
        : [sql.rollups, `AND p.width = ${String(read.widthMs)}`];
    return `SELECT 'b', p.bucket_start::text, p.event_count::text, p.value::text, NULL::jsonb
            FROM ${table} AS p
            WHERE p.rule = $2 AND p.principal_id = $3 ${width}
              AND p.bucket_start >= $${params.length - 1} AND p.bucket_start < $${params.length}`;
  });
  // A checkpoint is `<tx_id>-<seq>`, each zero-padded; the numeric cast drops the padding (xid8 reads a leading 0
  // as octal). Without a checkpoint the bound is (0, 0), below every event. The bound is one row comparison, never an
  // OR, so the tail stays an index range scan on (stream, tx_id, seq).
  const result = await pool.query<{
    kind: 'c' | 'b' | 't';
    a: string;
    b: string | null;
    c: string | null;
    data: TailEvent['data'] | null;
  }>(
    `WITH cp AS (SELECT position FROM ${sql.checkpoints} WHERE name = $1),
     tail AS (
       SELECT e.tx_id, e.seq, e.occurred_at, e.data FROM ${sql.events} AS e
       WHERE e.stream = $4 AND e.type = $5
         AND (e.tx_id, e.seq) > (
           COALESCE((SELECT split_part(position, '-', 1)::numeric::text::xid8 FROM cp), '0'::xid8),
           COALESCE((SELECT split_part(position, '-', 2)::bigint FROM cp), 0))
       ORDER BY e.tx_id, e.seq LIMIT $6)
     SELECT 'c' AS kind, position AS a, NULL::text AS b, NULL::text AS c, NULL::jsonb AS data FROM cp
     UNION ALL ${scans.join(' UNION ALL ')}
     UNION ALL SELECT 't', t.tx_id::text, t.seq::text, t.occurred_at, t.data FROM tail AS t`,
    params,
  );
  let checkpoint: GlobalPosition | null = null;
  const buckets: StoredBucket[] = [];
  const page: TailRow[] = [];
  for (const row of result.rows) {
    if (row.kind === 'c') {
      parsePostgresPosition(row.a, 'checkpoint');
      checkpoint = asGlobalPosition(row.a);
    } else if (row.kind === 'b') {
      assert(row.b !== null && row.c !== null, 'a bucket row is whole');
      buckets.push(toStoredBucket({ bucket_start: row.a, event_count: row.b, value: row.c }));
    } else {
      assert(row.b !== null && row.c !== null && row.data !== null, 'a tail row is whole');
      page.push({ txId: BigInt(row.a), seq: BigInt(row.b), occurred_at: row.c, data: row.data });
    }
  }
  buckets.sort((x, y) => x.bucketStartMs - y.bucketStartMs);
  // The union keeps no order of its own: the tail page is sorted here, in log order.
  page.sort((x, y) =>
    x.txId === y.txId ? compareBigint(x.seq, y.seq) : compareBigint(x.txId, y.txId),
  );
  const tail: TailEvent[] = [];
  let scanned = 0;
  let rows: readonly TailRow[] = page;
  for (;;) {
    scanned += rows.length;
    if (scanned > tailEventsMax) throw tailTooLargeError(scanned, tailEventsMax);
    for (const row of rows) {
      if (!occurredInRange(row.occurred_at, query.fromMs, query.toMs)) continue;
      tail.push({
        position: formatPostgresPosition(row.txId, row.seq),
        occurredAt: row.occurred_at,
        data: row.data,
      });
    }
    const last = rows[rows.length - 1];
    if (rows.length < tailPageEventsDefault || last === undefined) break;
    rows = await readTailPage(pool, sql, query, last);
  }
  return { checkpoint, buckets, tail };
}

interface TailRow {
  readonly txId: bigint;
  readonly seq: bigint;
  readonly occurred_at: string;
  readonly data: TailEvent['data'];
}

function compareBigint(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The next page of the principal's events of the source type after `after`, in log order. */
async function readTailPage(
  pool: Pool,
  sql: Sql,
  query: StateReadQuery,
  after: { readonly txId: bigint; readonly seq: bigint },
): Promise<TailRow[]> {
  const result = await pool.query<{
    tx_id: string;
    seq: string;
    occurred_at: string;
    data: TailEvent['data'];
  }>(
    `SELECT e.tx_id::text AS tx_id, e.seq::text AS seq, e.occurred_at, e.data FROM ${sql.events} AS e
     WHERE e.stream = $1 AND e.type = $2 AND (e.tx_id, e.seq) > ($4::xid8, $5::bigint)
     ORDER BY e.tx_id, e.seq LIMIT $3`,
    [
      principalStream(query.principalId),
      query.sourceEvent,
      tailPageEventsDefault,
      after.txId.toString(),
      after.seq.toString(),
    ],
  );
  return result.rows.map((row) => ({
    txId: BigInt(row.tx_id),
    seq: BigInt(row.seq),
    occurred_at: row.occurred_at,
    data: row.data,
  }));
}

/** Runs `fn` holding a session advisory lock on a dedicated connection; `{ acquired: false }` when it is taken. */
async function withSessionLock<T>(
  pool: Pool,
  key: string,
  fn: () => Promise<T>,
): Promise<SweepLockResult<T>> {
  const client = await run('sweep lock', () => pool.connect());
  client.on('error', ignore);
  let healthy = true;
  try {
    const lock = await run('sweep lock', () =>
      client.query<{ locked: boolean }>(
        'SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS locked',
        [key],
      ),
    );
    if (lock.rows[0]?.locked !== true) return { acquired: false };
    try {
      return { acquired: true, value: await fn() };
    } finally {
      healthy = await client
        .query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [key])
        .then(
          () => true,
          () => false,
        );
    }
  } catch (error) {
    healthy = false;
    throw error;
  } finally {
    client.off('error', ignore);
    // A session that may still hold the lock is destroyed rather than returned to the pool.
    client.release(!healthy);
  }
}
