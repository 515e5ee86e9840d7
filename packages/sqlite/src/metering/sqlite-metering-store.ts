import type {
  BucketDelta,
  BucketListing,
  BucketSelection,
  GlobalPosition,
  MeteringStore,
  OwnedBucket,
  OwnedRollup,
  RuleReplacement,
  StateReadQuery,
  StateSnapshot,
  StoredBucket,
  SweepStep,
  TailEvent,
} from '@aevon/core';
import {
  asGlobalPosition,
  assert,
  assertSweepStep,
  bucketWidthMs,
  formatSequencePosition,
  meteringCheckpointName,
  mergeAggregate,
  occurredInRange,
  parseStoredDecimal,
  planBucketReads,
  principalStream,
  rollUpDeltas,
  tailEventsMaxDefault,
  tailPageEventsDefault,
  tailTooLargeError,
} from '@aevon/core';
import type { Migration } from '../schema/migrations.js';
import { applyMigrations } from '../schema/migrations.js';
import type { SqliteStorage } from '../sqlite-storage.js';

/**
 * The metering store's SQLite schema, applied with {@link applyMigrations} next to the event log's (version 1000
 * and up, as the log reserves). `pre_aggregates.value` is TEXT: an exact decimal string, merged in JavaScript.
 * The `events (stream, position)` index makes the tail seek `stream = ? AND position > ?` cost O(tail).
 */
export const sqliteMeteringMigrations: readonly Migration[] = [
  {
    version: 1000,
    name: 'metering_pre_aggregates',
    sql: `
      CREATE TABLE pre_aggregates (
        rule TEXT NOT NULL,
        principal_id TEXT NOT NULL,
        bucket_start INTEGER NOT NULL,
        event_count INTEGER NOT NULL CHECK (event_count > 0),
        value TEXT NOT NULL,
        PRIMARY KEY (rule, principal_id, bucket_start)
      ) STRICT, WITHOUT ROWID;
      CREATE TABLE sweep_checkpoints (
        name TEXT PRIMARY KEY,
        position TEXT NOT NULL
      ) STRICT;
      CREATE INDEX events_stream_position ON events (stream, position);
    `,
  },
  {
    // Hour and day rollups of the 1-minute buckets (see planBucketReads). A database that already holds buckets
    // has no rollups for them, so rollups count only from the UTC day after its latest bucket: the one-row
    // coverage table holds that day (NULL when there were no buckets: rollups are complete everywhere).
    version: 1001,
    name: 'metering_rollups',
    sql: `
      CREATE TABLE pre_aggregate_rollups (
        rule TEXT NOT NULL,
        principal_id TEXT NOT NULL,
        width INTEGER NOT NULL,
        bucket_start INTEGER NOT NULL,
        event_count INTEGER NOT NULL CHECK (event_count > 0),
        value TEXT NOT NULL,
        PRIMARY KEY (rule, principal_id, width, bucket_start)
      ) STRICT, WITHOUT ROWID;
      CREATE TABLE pre_aggregate_rollup_coverage (from_ms INTEGER) STRICT;
      INSERT INTO pre_aggregate_rollup_coverage (from_ms)
        SELECT (max(bucket_start) / 86400000 + 1) * 86400000 FROM pre_aggregates;
    `,
  },
];

/** Options for {@link createSqliteMeteringStore}. */
export interface SqliteMeteringStoreOptions {
  /** Most tail events one state query scans. Default: {@link tailEventsMaxDefault}. */
  readonly tailEventsMax?: number;
}

interface BucketRow {
  readonly bucket_start: bigint;
  readonly event_count: bigint;
  readonly value: string;
}

interface OwnedBucketRow extends BucketRow {
  readonly rule: string;
  readonly principal_id: string;
}

interface TailRow {
  readonly position: bigint;
  readonly occurred_at: string;
  readonly data: string;
}

/**
 * A {@link MeteringStore} in the SQLite database of an event log: applies {@link sqliteMeteringMigrations}, then
 * works on the storage's shared connection. A sweep step runs in one immediate transaction; a state read runs in
 * one deferred (snapshot) transaction, synchronously, so no sweep can interleave. The sweep lock is trivial: one
 * process writes a SQLite file.
 */
export function createSqliteMeteringStore(
  storage: SqliteStorage,
  options: SqliteMeteringStoreOptions = {},
): MeteringStore {
  const tailEventsMax = options.tailEventsMax ?? tailEventsMaxDefault;
  assert(
    Number.isSafeInteger(tailEventsMax) && tailEventsMax > 0,
    'tailEventsMax is a positive integer',
  );
  const db = storage.database;
  applyMigrations(db, sqliteMeteringMigrations);
  const selectCheckpoint = db
    .prepare<[string], string>('SELECT position FROM sweep_checkpoints WHERE name = ?')
    .pluck();
  const saveCheckpoint = db.prepare<[string, string]>(
    `INSERT INTO sweep_checkpoints (name, position) VALUES (?, ?)
     ON CONFLICT (name) DO UPDATE SET position = excluded.position`,
  );
  const selectBucket = db
    .prepare<[string, string, number], BucketRow>(
      'SELECT bucket_start, event_count, value FROM pre_aggregates WHERE rule = ? AND principal_id = ? AND bucket_start = ?',
    )
    .safeIntegers(true);
  const upsertBucket = db.prepare<[string, string, number, number, string]>(
    `INSERT INTO pre_aggregates (rule, principal_id, bucket_start, event_count, value) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (rule, principal_id, bucket_start) DO UPDATE
     SET event_count = excluded.event_count, value = excluded.value`,
  );
  const selectBuckets = db
    .prepare<[string, string, number, number], BucketRow>(
      `SELECT bucket_start, event_count, value FROM pre_aggregates
       WHERE rule = ? AND principal_id = ? AND bucket_start >= ? AND bucket_start < ? ORDER BY bucket_start`,
    )
    .safeIntegers(true);
  const selectRollup = db
    .prepare<[string, string, number, number], BucketRow>(
      `SELECT bucket_start, event_count, value FROM pre_aggregate_rollups
       WHERE rule = ? AND principal_id = ? AND width = ? AND bucket_start = ?`,
    )
    .safeIntegers(true);
  const upsertRollup = db.prepare<[string, string, number, number, number, string]>(
    `INSERT INTO pre_aggregate_rollups (rule, principal_id, width, bucket_start, event_count, value)
     VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (rule, principal_id, width, bucket_start) DO UPDATE
     SET event_count = excluded.event_count, value = excluded.value`,
  );
  const selectRollups = db
    .prepare<[string, string, number, number, number], BucketRow>(
      `SELECT bucket_start, event_count, value FROM pre_aggregate_rollups
       WHERE rule = ? AND principal_id = ? AND width = ? AND bucket_start >= ? AND bucket_start < ?
       ORDER BY bucket_start`,
    )
    .safeIntegers(true);
  const rollupsFromMs = readRollupCoverage(db);
  const selectTail = db
    .prepare<[string, string, bigint, number], TailRow>(
      `SELECT position, occurred_at, data FROM events
       WHERE stream = ? AND type = ? AND position > ? ORDER BY position LIMIT ?`,
    )
    .safeIntegers(true);

  const selectOwnedBuckets = db
    .prepare<[string, string | null, string | null], OwnedBucketRow>(
      `SELECT rule, principal_id, bucket_start, event_count, value FROM pre_aggregates
       WHERE rule IN (SELECT value FROM json_each(?)) AND (? IS NULL OR principal_id = ?)
       ORDER BY rule, principal_id, bucket_start`,
    )
    .safeIntegers(true);
  const selectOwnedRollups = db
    .prepare<
      [string, string | null, string | null, number | null, number | null],
      OwnedBucketRow & { readonly width: bigint }
    >(
      `SELECT rule, principal_id, width, bucket_start, event_count, value FROM pre_aggregate_rollups
       WHERE rule IN (SELECT value FROM json_each(?)) AND (? IS NULL OR principal_id = ?)
         AND (? IS NULL OR bucket_start >= ?)`,
    )
    .safeIntegers(true);
  const deleteRuleBuckets = db.prepare<[string]>('DELETE FROM pre_aggregates WHERE rule = ?');
  const deleteRuleRollups = db.prepare<[string]>(
    'DELETE FROM pre_aggregate_rollups WHERE rule = ?',
  );
  const renameRuleBuckets = db.prepare<[string, string]>(
    'UPDATE pre_aggregates SET rule = ? WHERE rule = ?',
  );
  const renameRuleRollups = db.prepare<[string, string]>(
    'UPDATE pre_aggregate_rollups SET rule = ? WHERE rule = ?',
  );
  const countEvents = db
    .prepare<[bigint], number>('SELECT count(*) FROM events WHERE position <= ?')
    .pluck();

  const loadCheckpoint = (): GlobalPosition | null => {
    const stored = selectCheckpoint.get(meteringCheckpointName);
    if (stored === undefined) return null;
    assert(/^\d{20}$/.test(stored), 'a SQLite checkpoint is a 20-digit position');
    return asGlobalPosition(stored);
  };

  /** Merges minute deltas into their buckets and rollups; runs inside the caller's transaction. */
  const mergeDeltas = (deltas: readonly BucketDelta[]): void => {
    for (const delta of deltas) {
      const row = selectBucket.get(delta.rule, delta.principalId, delta.bucketStartMs);
      const merged = mergeAggregate(delta.operator, row && toBucket(row), delta);
      upsertBucket.run(
        delta.rule,
        delta.principalId,
        delta.bucketStartMs,
        merged.eventCount,
        merged.value,
      );
    }
    for (const delta of rollUpDeltas(deltas)) {
      const { rule, principalId, widthMs, bucketStartMs } = delta;
      const row = selectRollup.get(rule, principalId, widthMs, bucketStartMs);
      const merged = mergeAggregate(delta.operator, row && toBucket(row), delta);
      upsertRollup.run(rule, principalId, widthMs, bucketStartMs, merged.eventCount, merged.value);
    }
  };

  const applySweep = (step: SweepStep): boolean =>
    storage.transaction(() => {
      assertSweepStep(step);
      const stored = loadCheckpoint();
      if (stored !== step.previous) return false;
      mergeDeltas(step.buckets);
      saveCheckpoint.run(meteringCheckpointName, step.checkpoint);
      assert(loadCheckpoint() === step.checkpoint, 'the checkpoint was saved');
      return true;
    });

  const readTail = (query: StateReadQuery, after: GlobalPosition | null): TailEvent[] => {
    const tail: TailEvent[] = [];
    let cursor = after === null ? 0n : BigInt(after);
    let scanned = 0;
    for (;;) {
      const rows = selectTail.all(
        principalStream(query.principalId),
        query.sourceEvent,
        cursor,
        tailPageEventsDefault,
      );
      scanned += rows.length;
      if (scanned > tailEventsMax) throw tailTooLargeError(scanned, tailEventsMax);
      for (const row of rows) {
        if (!occurredInRange(row.occurred_at, query.fromMs, query.toMs)) continue;
        const data = JSON.parse(row.data) as TailEvent['data'];
        tail.push({
          position: formatSequencePosition(row.position),
          occurredAt: row.occurred_at,
          data,
        });
      }
      const last = rows[rows.length - 1];
      if (rows.length < tailPageEventsDefault || last === undefined) return tail;
      cursor = last.position;
    }
  };

  const readState = (query: StateReadQuery): StateSnapshot =>
    db
      .transaction((): StateSnapshot => {
        const checkpoint = loadCheckpoint();
        const plan = planBucketReads(query.fromMs, query.toMs, query.granularity, rollupsFromMs);
        const buckets = plan.flatMap((read) =>
          (read.widthMs === bucketWidthMs
            ? selectBuckets.all(query.rule, query.principalId, read.fromMs, read.toMs)
            : selectRollups.all(query.rule, query.principalId, read.widthMs, read.fromMs, read.toMs)
          ).map(toBucket),
        );
        return { checkpoint, buckets, tail: readTail(query, checkpoint) };
      })
      .deferred();

  const readBuckets = (selection: BucketSelection): BucketListing =>
    db
      .transaction((): BucketListing => {
        const checkpoint = loadCheckpoint();
        const rows = selectOwnedBuckets.all(
          JSON.stringify(selection.rules),
          selection.principalId ?? null,
          selection.principalId ?? null,
        );
        const buckets = rows.map((row): OwnedBucket => ({
          rule: row.rule,
          principalId: row.principal_id,
          ...toBucket(row),
        }));
        const rollups = selectOwnedRollups
          .all(
            JSON.stringify(selection.rules),
            selection.principalId ?? null,
            selection.principalId ?? null,
            rollupsFromMs,
            rollupsFromMs,
          )
          .map((row): OwnedRollup => ({
            rule: row.rule,
            principalId: row.principal_id,
            widthMs: Number(row.width),
            ...toBucket(row),
          }));
        return { checkpoint, buckets, rollups, rollupsFromMs };
      })
      .deferred();

  const replaceRule = (replacement: RuleReplacement): boolean =>
    storage.transaction(() => {
      if (loadCheckpoint() !== replacement.checkpoint) return false;
      deleteRuleBuckets.run(replacement.rule);
      deleteRuleRollups.run(replacement.rule);
      renameRuleBuckets.run(replacement.rule, replacement.staging);
      renameRuleRollups.run(replacement.rule, replacement.staging);
      return true;
    });

  let isSweeping = false;
  return {
    loadCheckpoint: async () => loadCheckpoint(),
    applySweep: async (step) => applySweep(step),
    readState: async (query) => readState(query),
    readBuckets: async (selection) => readBuckets(selection),
    mergeBuckets: async (deltas) => {
      storage.transaction(() => mergeDeltas(deltas));
    },
    deleteRule: async (rule) =>
      storage.transaction(() => {
        deleteRuleRollups.run(rule);
        return deleteRuleBuckets.run(rule).changes;
      }),
    replaceRule: async (replacement) => replaceRule(replacement),
    countEventsThrough: async (through) => countEvents.get(BigInt(through)) ?? 0,
    withSweepLock: async (fn) => {
      if (isSweeping) return { acquired: false };
      isSweeping = true;
      try {
        return { acquired: true, value: await fn() };
      } finally {
        isSweeping = false;
      }
    },
    close: async () => undefined,
  };
}

function toBucket(row: BucketRow): StoredBucket {
  const value = parseStoredDecimal(row.value);
  assert(value === row.value, 'a stored pre-aggregate value is a canonical decimal');
  return { bucketStartMs: Number(row.bucket_start), eventCount: Number(row.event_count), value };
}

/** Where the rollups are complete: the UTC day migration 1001 recorded, or null for everywhere. */
function readRollupCoverage(db: SqliteStorage['database']): number | null {
  const row = db
    .prepare<[], { from_ms: bigint | null }>('SELECT from_ms FROM pre_aggregate_rollup_coverage')
    .safeIntegers(true)
    .get();
  assert(row !== undefined, 'the rollup coverage table holds its one row');
  return row.from_ms === null ? null : Number(row.from_ms);
}
