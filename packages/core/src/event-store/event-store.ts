import { AevonError, invalidRequest } from '../errors/aevon-error.js';
import type {
  ExpectedRevision,
  GlobalPosition,
  PendingEvent,
  PreparedEvent,
  RecordedEvent,
  StreamId,
  StreamInfo,
  StreamRevision,
} from '../event/event.js';
import type { Range, RangeInput } from '../event/range.js';
import { normalizeRange } from '../event/range.js';
import {
  checkExpectedRevision,
  checkName,
  isPlainObject,
  parseTimestamp,
  serializePayload,
} from '../event/validation.js';
import type { Clock } from '../clock.js';
import { formatTimestamp } from '../clock.js';
import type { Limits } from '../limits.js';
import { createLimits } from '../limits.js';
import type { Random } from '../random.js';
import { randomUuid } from '../random.js';
import type { AppendBatch, AppendResult, Storage, StreamAppend } from '../storage/storage.js';
import type { CommitSignal } from '../subscription/commit-signal.js';
import { createCommitSignal } from '../subscription/commit-signal.js';
import { GroupCommitter } from './group-commit.js';
import type { GroupCommitSchedule } from './group-commit.js';

/** Options for {@link createEventStore}. */
/**
 * Streams whose id starts with this are Aevon's own (the definitions stream `$aevon/definitions`): stores that own
 * them write them inside their transactions; `append` refuses them, so no client can corrupt what they fold.
 */
export const reservedStreamPrefix = '$aevon/';

export interface EventStoreOptions {
  readonly storage: Storage;
  readonly clock: Clock;
  readonly random: Random;
  /** Overrides of {@link defaultLimits}. */
  readonly limits?: Partial<Limits>;
  /**
   * When a group commit starts (see {@link GroupCommitter}). Default: a microtask. A server passes `setImmediate`, so
   * that requests arriving in one event-loop turn share one transaction even on a synchronous storage.
   */
  readonly scheduleGroupCommit?: GroupCommitSchedule;
}

/** One stream's part of an atomic multi-stream append. */
export interface StreamAppendInput {
  readonly stream: StreamId;
  readonly events: readonly PendingEvent[];
  /** Default: `any`. */
  readonly expected?: ExpectedRevision;
}

/** A range over a whole read, as opposed to one page: `limit` caps the total and may be any positive integer. */
export type ReadInput<P> = RangeInput<P>;

/** What {@link EventStore.readForAppend} returns. */
export interface ReadForAppendResult {
  /** Pass this as `expected` on the next append to the stream: its last revision, or `no_stream`. */
  readonly expected: StreamRevision | 'no_stream';
  /** The stream's events up to and including `expected`, read page by page. */
  readonly events: AsyncIterable<RecordedEvent>;
}

/**
 * The event log: append with optimistic concurrency and idempotency, and read by stream or globally. It validates
 * every input, enforces the limits, and coalesces concurrent appends into group commits on its {@link Storage}.
 */
export interface EventStore {
  readonly storage: Storage;
  readonly limits: Limits;
  /**
   * Appends events to one stream, atomically.
   * @throws AEV_REQUEST_INVALID, AEV_APPEND_BATCH_TOO_LARGE, AEV_EVENT_DATA_TOO_LARGE (nothing checked by storage
   *   yet); AEV_STREAM_VERSION_MISMATCH; AEV_EVENT_ID_DUPLICATE naming the stored event; AEV_OVERLOADED;
   *   AEV_STORAGE_UNAVAILABLE. On any error nothing of the call is written.
   */
  append(
    stream: StreamId,
    events: readonly PendingEvent[],
    options?: { readonly expected?: ExpectedRevision },
  ): Promise<AppendResult>;
  /** Appends to several streams, each with its own expectation: all or nothing. Errors as {@link append}. */
  appendMany(parts: readonly StreamAppendInput[]): Promise<AppendResult>;
  /** One bounded page of a stream (`limit` at most `limits.readPageEventsMax`). */
  readStreamPage(
    stream: StreamId,
    range?: RangeInput<StreamRevision>,
  ): Promise<readonly RecordedEvent[]>;
  /** One bounded page of the whole log in global order. */
  readAllPage(range?: RangeInput<GlobalPosition>): Promise<readonly RecordedEvent[]>;
  /** A stream's events in the range, fetched page by page (memory stays bounded by one page). */
  read(stream: StreamId, range?: ReadInput<StreamRevision>): AsyncIterable<RecordedEvent>;
  /** The whole log in the range, in global order, fetched page by page. */
  readAll(range?: ReadInput<GlobalPosition>): AsyncIterable<RecordedEvent>;
  /** The last event of a stream, or undefined when the stream does not exist. */
  readLatest(stream: StreamId): Promise<RecordedEvent | undefined>;
  /** The revision to pass as `expected` next, plus the events up to it. */
  readForAppend(stream: StreamId): Promise<ReadForAppendResult>;
  /** A stream's metadata, or null when it does not exist. */
  streamInfo(stream: StreamId): Promise<StreamInfo | null>;
  streamExists(stream: StreamId): Promise<boolean>;
  /** The position of the last readable event, or null for an empty log. */
  headPosition(): Promise<GlobalPosition | null>;
  /** Batches waiting for a group commit. */
  readonly queuedBatches: number;
  /** Appends committed through this store: wakes in-process subscriptions (see `subscribe`). */
  readonly commits: CommitSignal;
  /** Stops taking appends, waits for those in flight, then closes the storage. */
  close(): Promise<void>;
}

/** Creates an {@link EventStore} on a storage engine. */
export function createEventStore(options: EventStoreOptions): EventStore {
  const { storage, clock, random } = options;
  const limits = createLimits(options.limits);
  const committer = new GroupCommitter(storage, limits, options.scheduleGroupCommit);
  const commits = createCommitSignal();
  let closing = false;

  const prepare = (event: PendingEvent, recordedAt: string): PreparedEvent => {
    if (!isPlainObject(event)) throw invalidRequest('an event must be an object', 'events');
    const id =
      event.id === undefined
        ? randomUuid(random)
        : checkName(event.id, 'id', limits.eventIdLengthMax);
    const type = checkName(event.type, 'type', limits.eventTypeLengthMax);
    const metadata = event.metadata ?? {};
    const { json: dataJson } = serializePayload(id, event.data, metadata, limits);
    const schemaVersion = event.schemaVersion ?? 0;
    if (!Number.isSafeInteger(schemaVersion) || schemaVersion < 0) {
      throw invalidRequest('must be a non-negative integer', 'schemaVersion');
    }
    let occurredAt = recordedAt;
    if (event.occurredAt !== undefined) {
      if (typeof event.occurredAt !== 'string' || parseTimestamp(event.occurredAt) === null) {
        throw invalidRequest('must be an RFC 3339 timestamp with a zone', 'occurredAt');
      }
      occurredAt = event.occurredAt;
    }
    return {
      id,
      type,
      data: event.data,
      metadata,
      schemaVersion,
      occurredAt,
      recordedAt,
      correlationId: optionalName(event.correlationId, 'correlationId'),
      causationId: optionalName(event.causationId, 'causationId'),
      dataJson,
    };
  };

  const optionalName = (value: string | undefined, field: string): string | null =>
    value === undefined ? null : checkName(value, field, limits.eventIdLengthMax);

  const prepareBatch = (
    parts: readonly StreamAppendInput[],
  ): { batch: AppendBatch; count: number } => {
    if (!isList(parts) || parts.length === 0)
      throw invalidRequest('must name at least one stream', 'streams');
    if (parts.length > limits.appendStreamsMax) {
      throw invalidRequest(`at most ${limits.appendStreamsMax} streams per append`, 'streams');
    }
    const count = parts.reduce(
      (sum, part) => sum + (isList(part.events) ? part.events.length : 0),
      0,
    );
    if (count > limits.appendEventsMax) {
      throw new AevonError('AEV_APPEND_BATCH_TOO_LARGE', { count, max: limits.appendEventsMax });
    }
    const recordedAt = formatTimestamp(clock.nowMs());
    const streams = new Set<string>();
    const ids = new Set<string>();
    const batch: StreamAppend[] = parts.map((part) => {
      const stream = checkName(part.stream, 'stream', limits.streamIdLengthMax);
      if (stream.startsWith(reservedStreamPrefix)) {
        throw invalidRequest(
          `streams under ${reservedStreamPrefix} are written by Aevon itself (definitions); append elsewhere`,
          'stream',
        );
      }
      if (streams.has(stream))
        throw invalidRequest(`stream ${JSON.stringify(stream)} appears twice`, 'stream');
      streams.add(stream);
      const expected = checkExpectedRevision(part.expected ?? 'any');
      if (!isList(part.events) || part.events.length === 0) {
        throw invalidRequest('must hold at least one event', 'events');
      }
      const pending: readonly PendingEvent[] = part.events;
      const events = pending.map((event) => prepare(event, recordedAt));
      for (const event of events) {
        if (ids.has(event.id))
          throw invalidRequest(`event id ${JSON.stringify(event.id)} appears twice`, 'id');
        ids.add(event.id);
      }
      return { stream, expected, events };
    });
    return { batch, count };
  };

  const appendMany = async (parts: readonly StreamAppendInput[]): Promise<AppendResult> => {
    if (closing)
      throw new AevonError('AEV_STORAGE_UNAVAILABLE', { reason: 'the event store is closing' });
    const { batch, count } = prepareBatch(parts);
    const result = await committer.submit(batch, count);
    commits.committed();
    return result;
  };

  const checkStream = (stream: StreamId): StreamId =>
    checkName(stream, 'stream', limits.streamIdLengthMax);

  // Async, so that invalid input rejects the promise rather than throwing at the call.
  const readStreamPage = async (stream: StreamId, range?: RangeInput<StreamRevision>) =>
    storage.readStream(checkStream(stream), normalizeRange(range, limits));
  const readAllPage = async (range?: RangeInput<GlobalPosition>) =>
    storage.readAll(normalizeRange(range, limits));

  const read = (
    stream: StreamId,
    range?: ReadInput<StreamRevision>,
  ): AsyncIterable<RecordedEvent> =>
    paginate(
      range,
      limits,
      (page) => storage.readStream(checkStream(stream), page),
      (e) => e.revision,
    );
  const readAll = (range?: ReadInput<GlobalPosition>): AsyncIterable<RecordedEvent> =>
    paginate(
      range,
      limits,
      (page) => storage.readAll(page),
      (e) => e.position,
    );

  return {
    storage,
    limits,
    append: (stream, events, appendOptions) =>
      appendMany([
        appendOptions?.expected === undefined
          ? { stream, events }
          : { stream, events, expected: appendOptions.expected },
      ]),
    appendMany,
    readStreamPage,
    readAllPage,
    read,
    readAll,
    readLatest: async (stream) => (await storage.readLatest(checkStream(stream))) ?? undefined,
    readForAppend: async (stream) => {
      const info = await storage.streamInfo(checkStream(stream));
      if (info === null) return { expected: 'no_stream', events: emptyIterable() };
      return { expected: info.revision, events: read(stream, { end: info.revision }) };
    },
    streamInfo: async (stream) => storage.streamInfo(checkStream(stream)),
    streamExists: async (stream) => (await storage.streamInfo(checkStream(stream))) !== null,
    headPosition: () => storage.headPosition(),
    get queuedBatches() {
      return committer.queuedBatches;
    },
    commits,
    close: async () => {
      closing = true;
      await committer.idle();
      await storage.close();
    },
  };
}

/** Array check that does not widen the element type to any (inputs may come from JavaScript callers). */
function isList<T>(value: readonly T[]): boolean {
  return Array.isArray(value);
}

async function* emptyIterable(): AsyncIterable<RecordedEvent> {}

/**
 * Reads a range page by page: each page resumes exclusively after the last key seen, in the range's direction, until
 * the range or the total `limit` is exhausted.
 */
async function* paginate<P extends bigint | string>(
  input: ReadInput<P> | undefined,
  limits: Limits,
  fetch: (page: Range<P>) => Promise<readonly RecordedEvent[]>,
  key: (event: RecordedEvent) => P,
): AsyncIterable<RecordedEvent> {
  const total = input?.limit ?? Number.POSITIVE_INFINITY;
  if (input?.limit !== undefined && (!Number.isSafeInteger(total) || total < 1)) {
    throw invalidRequest('limit must be a positive integer', 'limit');
  }
  const { limit: _ignored, ...bounds } = input ?? {};
  let range = normalizeRange(bounds, limits);
  let remaining = total;
  while (remaining > 0) {
    const pageLimit = Math.min(limits.readPageEventsMax, remaining);
    const page = await fetch({ ...range, limit: pageLimit });
    for (const event of page) yield event;
    remaining -= page.length;
    const last = page[page.length - 1];
    if (page.length < pageLimit || last === undefined) return;
    range =
      range.direction === 'forward'
        ? { ...range, start: key(last), startExclusive: true }
        : { ...range, end: key(last), endExclusive: true };
  }
}
