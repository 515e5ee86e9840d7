import type {
  AevonError,
  AppendBatch,
  AppendOutcome,
  AppendResult,
  GlobalPosition,
  PreparedEvent,
  RecordedEvent,
  StreamId,
  StreamAppendResult,
  StreamRevision,
} from '@aevon/core';
import { assert, checkExpected, duplicateError, recordEvent } from '@aevon/core';
import type { ClientBase } from 'pg';
import { formatPostgresPosition } from '../position.js';
import type { Tables } from './tables.js';

/** An event already stored, as an `AEV_EVENT_ID_DUPLICATE` error names it. */
interface StoredEvent {
  readonly id: string;
  readonly stream: StreamId;
  readonly revision: StreamRevision;
  readonly position: GlobalPosition;
}

interface PlannedEvent {
  readonly event: PreparedEvent;
  readonly stream: StreamId;
  readonly revision: StreamRevision;
}

/** What one batch will do, decided in memory while this transaction holds its streams' locks. */
type Plan =
  | {
      readonly kind: 'write';
      readonly events: readonly PlannedEvent[];
      readonly streams: StreamAppendResult[];
    }
  | {
      readonly kind: 'fail';
      readonly error: AevonError<'AEV_STREAM_VERSION_MISMATCH' | 'AEV_EVENT_ID_DUPLICATE'>;
      // For a mismatch: the ids of the parts before the failing one, which a stored id would fail first.
      readonly priorIds: readonly string[];
    }
  // Repeats an id written by an earlier batch of the same group; its position is known only after the insert.
  | { readonly kind: 'repeat'; readonly id: string };

/** A stream's last revision; null when it has no events. */
type Revisions = Map<StreamId, StreamRevision | null>;

/**
 * Writes a group of batches inside the caller's open transaction and returns one outcome per batch, in order.
 *
 * Method: lock every stream of the group at once, in sorted order (so that two groups never deadlock on each other's
 * streams), decide each batch's expectation in memory with core's {@link checkExpected} while the locks are held,
 * then write every surviving event with ONE insert that skips stored ids (`ON CONFLICT (id) DO NOTHING`, which also
 * waits out another process inserting the same id). When every row was written, which is the common case, no id
 * was stored before and the group is done without an id lookup. When a row was skipped (a retried append, or a race
 * with another process), this function deletes its own uncommitted rows, keeps the stream locks, and redoes the group
 * with {@link appendEachInSavepoint}: each batch in a savepoint with its own id lookup, so only the batches holding
 * stored ids fail, naming the stored event through core's {@link duplicateError}.
 *
 * Throws on a database failure; the caller then rolls the whole transaction back.
 */
export async function appendInTransaction(
  client: ClientBase,
  tables: Tables,
  batches: readonly AppendBatch[],
): Promise<AppendOutcome[]> {
  const initial = await lockStreams(client, tables, batches);
  const revisions: Revisions = new Map(initial);
  const planned = new Set<string>();
  const plans = await reportStoredIdsFirst(
    client,
    tables,
    batches.map((batch) => planBatch(batch, revisions, new Map(), planned)),
  );
  const events = plans.flatMap((plan) => (plan.kind === 'write' ? plan.events : []));
  // The stream revisions are saved by the same statement, and only if every row was written.
  const written = await insertEvents(client, tables, events, revisionChanges(initial, revisions));
  if (written.size < events.length) {
    await client.query(`DELETE FROM ${tables.events} WHERE id = ANY($1::text[])`, [
      [...written.keys()],
    ]);
    return appendEachInSavepoint(client, tables, batches, initial);
  }
  const recorded = new Map<string, RecordedEvent>();
  return plans.map((plan) => resolvePlan(plan, written, recorded));
}

/**
 * The fast path decides expectations without looking ids up, but the reference model checks each part's ids before
 * the next part's expectation. So a batch that failed on a later part's expectation is checked for stored ids in its
 * earlier parts (one query for the group, only when there is such a batch), and fails on the first one found instead.
 * The lookup runs before the insert, so it sees only ids stored before this group, as the model would.
 */
async function reportStoredIdsFirst(
  client: ClientBase,
  tables: Tables,
  plans: readonly Plan[],
): Promise<Plan[]> {
  const prior = plans.flatMap((plan) => (plan.kind === 'fail' ? plan.priorIds : []));
  if (prior.length === 0) return [...plans];
  const stored = await lookUpIds(client, tables, prior);
  return plans.map((plan) => {
    if (plan.kind !== 'fail') return plan;
    const found = plan.priorIds.map((id) => stored.get(id)).find((event) => event !== undefined);
    return found === undefined
      ? plan
      : { kind: 'fail', error: duplicateError(found), priorIds: [] };
  });
}

/**
 * The slow path: each batch in its own savepoint, with its own id lookup and insert. A row skipped because another
 * process stored its id concurrently rolls back to the savepoint, and the batch fails naming the stored event.
 */
async function appendEachInSavepoint(
  client: ClientBase,
  tables: Tables,
  batches: readonly AppendBatch[],
  initial: ReadonlyMap<StreamId, StreamRevision | null>,
): Promise<AppendOutcome[]> {
  const revisions: Revisions = new Map(initial);
  const outcomes: AppendOutcome[] = [];
  for (const batch of batches) {
    const ids = batch.flatMap((p) => p.events.map((e) => e.id));
    await client.query('SAVEPOINT aevon_batch');
    const stored = await lookUpIds(client, tables, ids);
    const attempt: Revisions = new Map(revisions);
    const plan = planBatch(batch, attempt, stored, new Set());
    if (plan.kind !== 'write') {
      assert(plan.kind === 'fail', 'a lone batch never repeats an id of its own');
      await client.query('RELEASE SAVEPOINT aevon_batch');
      outcomes.push({ ok: false, error: plan.error });
      continue;
    }
    const written = await insertEvents(client, tables, plan.events, noRevisionChanges);
    if (written.size < plan.events.length) {
      await client.query('ROLLBACK TO SAVEPOINT aevon_batch');
      await client.query('RELEASE SAVEPOINT aevon_batch');
      const raced = await lookUpIds(client, tables, ids);
      const first = ids.map((id) => raced.get(id)).find((found) => found !== undefined);
      assert(first !== undefined, 'a skipped row means its id is stored');
      outcomes.push({ ok: false, error: duplicateError(first) });
      continue;
    }
    await client.query('RELEASE SAVEPOINT aevon_batch');
    for (const [stream, revision] of attempt) revisions.set(stream, revision);
    outcomes.push(resolvePlan(plan, written, new Map()));
  }
  await saveRevisions(client, tables, revisionChanges(initial, revisions));
  return outcomes;
}

/** Locks (creating at -1 when absent) the `streams` row of every stream in the group, and reads their revisions. */
async function lockStreams(
  client: ClientBase,
  tables: Tables,
  batches: readonly AppendBatch[],
): Promise<Revisions> {
  const names = [...new Set(batches.flatMap((batch) => batch.map((part) => part.stream)))];
  const result = await client.query<{ stream: string; revision: string }>(
    `INSERT INTO ${tables.streams} AS s (stream, revision)
     SELECT t.stream, -1 FROM unnest($1::text[]) AS t(stream) ORDER BY t.stream
     ON CONFLICT (stream) DO UPDATE SET revision = s.revision
     RETURNING s.stream, s.revision::text AS revision`,
    [names],
  );
  assert(result.rows.length === names.length, 'every stream of the group is locked');
  const revisions: Revisions = new Map();
  for (const row of result.rows) {
    const revision = BigInt(row.revision);
    assert(revision >= -1n, 'a stream revision is -1 (reserved) or more');
    revisions.set(row.stream, revision < 0n ? null : revision);
  }
  return revisions;
}

async function lookUpIds(
  client: ClientBase,
  tables: Tables,
  ids: readonly string[],
): Promise<Map<string, StoredEvent>> {
  const result = await client.query<{
    id: string;
    stream: string;
    revision: string;
    tx_id: string;
    seq: string;
  }>(
    `SELECT id, stream, revision::text AS revision, tx_id::text AS tx_id, seq::text AS seq
     FROM ${tables.events} WHERE id = ANY($1::text[])`,
    [ids],
  );
  const stored = new Map<string, StoredEvent>();
  for (const row of result.rows) {
    const position = formatPostgresPosition(row.tx_id, row.seq);
    stored.set(row.id, {
      id: row.id,
      stream: row.stream,
      revision: BigInt(row.revision),
      position,
    });
  }
  return stored;
}

/**
 * Decides one batch against the revisions this group has reached so far, checking streams and ids in the same order
 * as the in-memory reference storage. On success it advances `revisions` and records the batch's ids in `planned`.
 */
function planBatch(
  batch: AppendBatch,
  revisions: Revisions,
  stored: ReadonlyMap<string, StoredEvent>,
  planned: Set<string>,
): Plan {
  const priorIds: string[] = [];
  for (const part of batch) {
    const actual = revisions.get(part.stream);
    assert(actual !== undefined, 'every stream of the group was locked');
    const mismatch = checkExpected(part.stream, part.expected, actual);
    if (mismatch !== null) return { kind: 'fail', error: mismatch, priorIds };
    for (const event of part.events) {
      const found = stored.get(event.id);
      if (found !== undefined) return { kind: 'fail', error: duplicateError(found), priorIds: [] };
      if (planned.has(event.id)) return { kind: 'repeat', id: event.id };
      priorIds.push(event.id);
    }
  }
  const events: PlannedEvent[] = [];
  const streams: StreamAppendResult[] = [];
  for (const part of batch) {
    const last = revisions.get(part.stream) ?? null;
    const firstRevision = last === null ? 0n : last + 1n;
    part.events.forEach((event, index) => {
      events.push({ event, stream: part.stream, revision: firstRevision + BigInt(index) });
      planned.add(event.id);
    });
    const lastRevision = firstRevision + BigInt(part.events.length - 1);
    assert(part.events.length > 0, 'every stream of a batch has events');
    revisions.set(part.stream, lastRevision);
    streams.push({ stream: part.stream, firstRevision, lastRevision });
  }
  return { kind: 'write', events, streams };
}

/**
 * Inserts events in order with one statement and returns the positions of the rows written, by id. The same
 * statement applies `revisions` (see {@link saveRevisions}) when, and only when, every row was written: one round trip
 * fewer on the common path, and nothing to undo on the conflict path.
 */
async function insertEvents(
  client: ClientBase,
  tables: Tables,
  events: readonly PlannedEvent[],
  revisions: RevisionChanges,
): Promise<Map<string, GlobalPosition>> {
  const written = new Map<string, GlobalPosition>();
  if (events.length === 0) {
    await saveRevisions(client, tables, revisions);
    return written;
  }
  assertContiguous(events);
  // One JSON document rather than eleven arrays: JSON.stringify is native, where pg escapes array elements one by
  // one, and the server parses it once. Revisions travel as strings (JSON has no 64-bit integers).
  // `data` goes in as the JSON text the event store validated when it has it (as SQLite writes it): what is stored
  // is what was checked, even if the caller changes its object while the append waits for its group.
  const rows = events.map(({ event, stream, revision }) => {
    const row = JSON.stringify({
      id: event.id,
      stream,
      revision: revision.toString(),
      type: event.type,
      schema_version: event.schemaVersion,
      metadata: event.metadata,
      occurred_at: event.occurredAt,
      recorded_at: event.recordedAt,
      correlation_id: event.correlationId,
      causation_id: event.causationId,
    });
    return `${row.slice(0, -1)},"data":${event.dataJson ?? JSON.stringify(event.data)}}`;
  });
  const result = await client.query<{
    id: string;
    tx_id: string;
    seq: string;
    advanced: number;
    dropped: number;
    notified: number;
  }>(
    `WITH inserted AS (
       INSERT INTO ${tables.events} (id, stream, revision, type, schema_version, data, metadata, occurred_at,
         recorded_at, correlation_id, causation_id)
       SELECT e.id, e.stream, e.revision, e.type, e.schema_version, e.data, e.metadata, e.occurred_at,
         e.recorded_at, e.correlation_id, e.causation_id
       FROM ROWS FROM (json_to_recordset($1::json) AS (id text, stream text, revision bigint, type text,
         schema_version integer, data jsonb, metadata jsonb, occurred_at text, recorded_at text,
         correlation_id text, causation_id text)) WITH ORDINALITY
         AS e(id, stream, revision, type, schema_version, data, metadata, occurred_at, recorded_at,
           correlation_id, causation_id, ord)
       -- Rows are inserted, and so take sequence numbers, in request order.
       ORDER BY e.ord
       ON CONFLICT (id) DO NOTHING
       RETURNING id, tx_id, seq
     ), complete AS (
       SELECT (SELECT count(*) FROM inserted) = $2::bigint AS ok
     ), advanced AS (
       UPDATE ${tables.streams} AS s SET revision = v.revision
       FROM unnest($3::text[], $4::bigint[]) AS v(stream, revision), complete
       WHERE s.stream = v.stream AND complete.ok RETURNING 1
     ), dropped AS (
       DELETE FROM ${tables.streams} USING complete
       WHERE stream = ANY($5::text[]) AND revision = -1 AND complete.ok RETURNING 1
     ), notified AS (
       -- Wakes live subscriptions of other processes (LISTEN/NOTIFY), delivered only if the transaction commits.
       SELECT pg_notify($6, '') FROM complete WHERE complete.ok
     )
     SELECT i.id, i.tx_id::text AS tx_id, i.seq::text AS seq,
       (SELECT count(*) FROM advanced)::integer AS advanced, (SELECT count(*) FROM dropped)::integer AS dropped,
       (SELECT count(*) FROM notified)::integer AS notified
     FROM inserted AS i`,
    [
      `[${rows.join(',')}]`,
      events.length,
      revisions.advanced.map(([stream]) => stream),
      revisions.advanced.map(([, revision]) => revision),
      revisions.unused,
      tables.appendChannel,
    ],
  );
  if (result.rows.length === events.length) {
    const first = result.rows[0];
    assert(first?.advanced === revisions.advanced.length, 'every advanced stream row is updated');
    assert(
      first.dropped === revisions.unused.length,
      'every reserved, unused stream row is removed',
    );
  }
  let txId: string | null = null;
  for (const row of result.rows) {
    if (txId !== null) assert(row.tx_id === txId, 'one transaction writes every row of a group');
    txId = row.tx_id;
    written.set(row.id, formatPostgresPosition(row.tx_id, row.seq));
  }
  return written;
}

/** Pair assertion, before the insert: each stream's planned revisions are contiguous. */
function assertContiguous(events: readonly PlannedEvent[]): void {
  const next = new Map<StreamId, StreamRevision>();
  for (const { stream, revision } of events) {
    const expected = next.get(stream);
    if (expected !== undefined)
      assert(revision === expected, 'planned revisions of a stream are contiguous');
    next.set(stream, revision + 1n);
  }
}

function resolvePlan(
  plan: Plan,
  written: ReadonlyMap<string, GlobalPosition>,
  recorded: Map<string, RecordedEvent>,
): AppendOutcome {
  if (plan.kind === 'fail') return { ok: false, error: plan.error };
  if (plan.kind === 'repeat') {
    const first = recorded.get(plan.id);
    assert(first !== undefined, 'a repeated id was written by an earlier batch of the group');
    return { ok: false, error: duplicateError(first) };
  }
  let previous: GlobalPosition | null = null;
  const events: RecordedEvent[] = [];
  for (const { event, stream, revision } of plan.events) {
    const position = written.get(event.id);
    assert(position !== undefined, 'every planned event was written');
    // Positions increase in request order: the insert assigned sequence numbers in ordinality order.
    if (previous !== null) assert(position > previous, 'positions increase in request order');
    previous = position;
    const stored = recordEvent(event, stream, revision, position);
    recorded.set(event.id, stored);
    events.push(stored);
  }
  const last = events[events.length - 1];
  assert(last !== undefined, 'a committed batch holds at least one event');
  const result: AppendResult = { streams: plan.streams, events, lastPosition: last.position };
  return { ok: true, result };
}

/** What a group changes in the `streams` table: new last revisions, and reserved rows of streams that got no events. */
interface RevisionChanges {
  /** (stream, new last revision as decimal text). */
  readonly advanced: readonly (readonly [string, string])[];
  readonly unused: readonly string[];
}

const noRevisionChanges: RevisionChanges = { advanced: [], unused: [] };

/** The streams whose revision moved from `initial` to `revisions`, and those reserved at -1 that got no events. */
function revisionChanges(
  initial: ReadonlyMap<StreamId, StreamRevision | null>,
  revisions: ReadonlyMap<StreamId, StreamRevision | null>,
): RevisionChanges {
  const advanced: [string, string][] = [];
  const unused: string[] = [];
  for (const [stream, revision] of revisions) {
    const before = initial.get(stream) ?? null;
    if (revision === null) unused.push(stream);
    else if (revision !== before) {
      if (before !== null) assert(revision > before, 'a stream revision only grows');
      advanced.push([stream, revision.toString()]);
    }
  }
  return { advanced, unused };
}

/** Applies {@link RevisionChanges} on their own (the slow path, and a group that writes no event). */
async function saveRevisions(
  client: ClientBase,
  tables: Tables,
  changes: RevisionChanges,
): Promise<void> {
  const { advanced, unused } = changes;
  if (advanced.length === 0 && unused.length === 0) return;
  // The NOTIFY that wakes live subscriptions of other processes rides on this statement, which every group that
  // wrote an event runs (a written event advances its stream), so it costs no round trip of its own. PostgreSQL
  // delivers it only if the transaction commits, and folds repeats within one transaction into one.
  const result = await client.query<{ advanced: number; dropped: number }>(
    `WITH advanced AS (
       UPDATE ${tables.streams} AS s SET revision = v.revision
       FROM unnest($1::text[], $2::bigint[]) AS v(stream, revision)
       WHERE s.stream = v.stream RETURNING 1
     ), dropped AS (
       DELETE FROM ${tables.streams} WHERE stream = ANY($3::text[]) AND revision = -1 RETURNING 1
     )
     SELECT (SELECT count(*) FROM advanced)::integer AS advanced, (SELECT count(*) FROM dropped)::integer AS dropped,
       pg_notify($4, '') AS notified`,
    [advanced.map(([s]) => s), advanced.map(([, r]) => r), unused, tables.appendChannel],
  );
  const row = result.rows[0];
  assert(row !== undefined, 'the revision update returns one row');
  assert(row.advanced === advanced.length, 'every advanced stream row is updated');
  assert(row.dropped === unused.length, 'every reserved, unused stream row is removed');
}
