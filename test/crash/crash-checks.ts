// The crash harness's checks, made on the database itself through the libraries (@aevon/sqlite, @aevon/postgres and
// core's read APIs), never through the server under test: which ids the log holds and how often, and whether the
// pre-aggregates are exactly the fold of the log up to the stored checkpoint.
import type { EventStore, MeteringStore, RecordedEvent, StoredBucket } from '@aevon/core';
import {
  addDecimal,
  createEventStore,
  createManualClock,
  createSeededRandom,
  foldSweepEvents,
  formatUtcTimestamp,
  lookupField,
  occurredInRange,
  parseDecimal,
  parseTimestamp,
  principalStream,
} from '@aevon/core';
import type { Rule, StateWindow } from '@aevon/engine';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';

/** Where the server under test keeps its data. */
export interface CrashTarget {
  readonly engine: 'sqlite' | 'postgres';
  /** `sqlite:/abs/path.db` or `postgres://...`. */
  readonly dsn: string;
}

/** A direct connection to the target's database. */
export interface DirectDatabase {
  readonly store: EventStore;
  readonly metering: MeteringStore;
  close(): Promise<void>;
}

/**
 * Opens the target's database with the library, as the server does (never migrating a PostgreSQL schema). With
 * `isAfterKill`, first waits until PostgreSQL has ended the killed server's sessions.
 */
export async function openDirect(
  target: CrashTarget,
  options: { readonly isAfterKill: boolean },
): Promise<DirectDatabase> {
  const clock = createManualClock(0);
  const random = createSeededRandom(1);
  if (target.engine === 'sqlite') {
    const sqlite = await import('@aevon/sqlite');
    const storage = sqlite.createSqliteStorage({ path: sqlite.parseSqliteDsn(target.dsn) });
    const metering = sqlite.createSqliteMeteringStore(storage);
    const store = createEventStore({ storage, clock, random });
    return { store, metering, close: () => store.close() };
  }
  const postgres = await import('@aevon/postgres');
  if (options.isAfterKill) await waitForOtherSessionsToEnd(target.dsn);
  const storage = await postgres.createPostgresStorage({
    connectionString: target.dsn,
    migrate: false,
    poolMax: 2,
  });
  const metering = await postgres.createPostgresMeteringStore(storage, { migrate: false });
  const store = createEventStore({ storage, clock, random });
  return {
    store,
    metering,
    close: async () => {
      await metering.close();
      await store.close();
    },
  };
}

/**
 * After a SIGKILL, PostgreSQL ends the dead server's sessions (rolling back what they had open) once it notices the
 * closed sockets. Until then an open transaction would hold back the log's read watermark, so wait for them.
 */
async function waitForOtherSessionsToEnd(dsn: string): Promise<void> {
  const client = new pg.Client({ connectionString: dsn });
  await client.connect();
  try {
    for (let attempt = 0; attempt < 500; attempt += 1) {
      const result = await client.query<{ n: string }>(
        `SELECT count(*)::text AS n FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid()`,
      );
      if (result.rows[0]?.n === '0') return;
      await sleep(20);
    }
    throw new Error('the killed server still has PostgreSQL sessions after 10 s');
  } finally {
    await client.end();
  }
}

/**
 * Every event of the principals' streams (all the harness writes), in log order. Read stream by stream, because a
 * PostgreSQL global read returns only events below the cluster's oldest open transaction (its watermark), which
 * another database's transaction may hold back: a stream read returns every committed event.
 */
export async function readLog(
  store: EventStore,
  principals: readonly string[],
): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  for (const principal of principals) {
    for await (const event of store.read(principalStream(principal))) events.push(event);
  }
  // Positions of both engines are fixed-width text: their text order is the log order.
  return events.sort((a, b) => (a.position < b.position ? -1 : a.position > b.position ? 1 : 0));
}

/** The position of the last event of the principals' streams (see {@link readLog}), or null. */
export async function lastPosition(
  store: EventStore,
  principals: readonly string[],
): Promise<string | null> {
  let last: string | null = null;
  for (const principal of principals) {
    const latest = await store.readLatest(principalStream(principal));
    if (latest !== undefined && (last === null || latest.position > last)) last = latest.position;
  }
  return last;
}

/** The range every event of the harness falls in (its `occurred_at` spread), on whole minutes. */
export interface CheckRange {
  readonly fromMs: number;
  readonly toMs: number;
}

/** What the consistency check found. */
export interface SnapshotReport {
  readonly checkpoint: string | null;
  readonly head: string | null;
  /** Events folded into the buckets (at or before the checkpoint). */
  readonly foldedEvents: number;
}

/**
 * Checks, for every rule and principal, that the stored pre-aggregates are exactly the fold of the log's events up to
 * the stored checkpoint (no event folded twice, none lost, none folded past the checkpoint), and that the raw tail
 * the read path merges is exactly the matching events after it. Only while nothing writes the database.
 * @throws Error describing the first difference.
 */
export async function checkBucketsMatchCheckpoint(
  direct: DirectDatabase,
  events: readonly RecordedEvent[],
  rules: readonly Rule[],
  principals: readonly string[],
  range: CheckRange,
): Promise<SnapshotReport> {
  const checkpoint = await direct.metering.loadCheckpoint();
  const folded = checkpoint === null ? [] : events.filter((e) => e.position <= checkpoint);
  const head = events.at(-1)?.position ?? null;
  if (checkpoint !== null && (head === null || checkpoint > head))
    throw new Error(`the checkpoint ${checkpoint} lies past the log's head ${String(head)}`);
  for (const rule of rules) {
    const deltas = foldSweepEvents([rule], folded).deltas;
    for (const principalId of principals) {
      const snapshot = await direct.metering.readState({
        rule: rule.name,
        sourceEvent: rule.sourceEvent,
        principalId,
        ...range,
        granularity: '1m',
      });
      const where = `rule ${rule.name}, principal ${principalId}, checkpoint ${String(checkpoint)}`;
      if (snapshot.checkpoint !== checkpoint)
        throw new Error(`${where}: the snapshot's checkpoint moved while nothing runs`);
      const expected: StoredBucket[] = deltas
        .filter((d) => d.principalId === principalId)
        .map((d) => ({ bucketStartMs: d.bucketStartMs, eventCount: d.eventCount, value: d.value }))
        .sort((a, b) => a.bucketStartMs - b.bucketStartMs);
      const actual = snapshot.buckets.map((b) => ({
        bucketStartMs: b.bucketStartMs,
        eventCount: b.eventCount,
        value: b.value,
      }));
      if (JSON.stringify(actual) !== JSON.stringify(expected)) {
        throw new Error(
          `${where}: the buckets are not the fold of the log up to the checkpoint\n` +
            `stored:   ${JSON.stringify(actual)}\nexpected: ${JSON.stringify(expected)}`,
        );
      }
      const tail = events
        .filter((e) => checkpoint === null || e.position > checkpoint)
        .filter((e) => e.stream === principalStream(principalId) && e.type === rule.sourceEvent)
        .filter((e) => occurredInRange(e.occurredAt, range.fromMs, range.toMs))
        .map((e) => e.position);
      const tailRead = snapshot.tail.map((e) => e.position);
      if (JSON.stringify(tailRead) !== JSON.stringify(tail))
        throw new Error(`${where}: the tail is not the events after the checkpoint`);
    }
  }
  return { checkpoint, head, foldedEvents: folded.length };
}

/**
 * Recomputes a `GET /v1/state` answer's windows from the raw log, independently of the engine: granularity `1m`
 * (the non-empty minutes) or `total` (one window over the range).
 */
export function recomputeWindows(
  events: readonly RecordedEvent[],
  rule: Rule,
  principalId: string,
  range: CheckRange,
  granularity: '1m' | 'total',
): StateWindow[] {
  const windows = new Map<number, { count: number; value: string }>();
  for (const event of events) {
    if (event.stream !== principalStream(principalId) || event.type !== rule.sourceEvent) continue;
    const ms = parseTimestamp(event.occurredAt);
    if (ms === null || ms < range.fromMs || ms >= range.toMs) continue;
    const value =
      rule.field === undefined ? '1' : parseDecimal(lookupField(event.data, rule.field));
    if (value === null) continue;
    const start = granularity === 'total' ? range.fromMs : Math.floor(ms / 60_000) * 60_000;
    const old = windows.get(start);
    windows.set(start, {
      count: (old?.count ?? 0) + 1,
      value: old === undefined ? value : addDecimal(old.value, value),
    });
  }
  if (granularity === 'total') {
    const total = windows.get(range.fromMs) ?? { count: 0, value: '0' };
    return [window(range.fromMs, range.toMs, total)];
  }
  return [...windows.entries()]
    .sort(([a], [b]) => a - b)
    .map(([start, w]) => window(start, start + 60_000, w));
}

function window(startMs: number, endMs: number, w: { count: number; value: string }): StateWindow {
  return {
    window_start: formatUtcTimestamp(startMs),
    window_end: formatUtcTimestamp(endMs),
    value: w.value,
    event_count: w.count,
  };
}

/**
 * Asks the running server `GET /v1/state` for every rule and principal at granularities `1m` and `total` and compares
 * each answer with {@link recomputeWindows} over `events` (the whole log, read directly).
 * @throws Error naming the first query whose answer differs.
 */
export async function checkStateAnswers(
  url: string,
  events: readonly RecordedEvent[],
  rules: readonly Rule[],
  principals: readonly string[],
  range: CheckRange,
): Promise<number> {
  let queries = 0;
  for (const rule of rules) {
    for (const principalId of principals) {
      for (const granularity of ['1m', 'total'] as const) {
        const query = new URLSearchParams({
          rule: rule.name,
          start: formatUtcTimestamp(range.fromMs),
          end: formatUtcTimestamp(range.toMs),
          granularity,
        });
        const path = `/v1/state/${encodeURIComponent(principalId)}?${query.toString()}`;
        const response = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(10_000) });
        const body = (await response.json()) as { values?: unknown };
        queries += 1;
        const expected = recomputeWindows(events, rule, principalId, range, granularity);
        if (response.status !== 200 || JSON.stringify(body.values) !== JSON.stringify(expected)) {
          throw new Error(
            `GET ${path} answered ${response.status} ${JSON.stringify(body)}\n` +
              `recomputed from the log: ${JSON.stringify(expected)}`,
          );
        }
      }
    }
  }
  return queries;
}
