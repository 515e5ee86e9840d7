import type { AevonError } from '../errors/aevon-error.js';
import type { Range } from '../event/range.js';
import type {
  ExpectedRevision,
  GlobalPosition,
  PreparedEvent,
  RecordedEvent,
  StreamId,
  StreamInfo,
  StreamRevision,
} from '../event/event.js';

/** Events for one stream inside an {@link AppendBatch}, with that stream's own expectation. */
export interface StreamAppend {
  readonly stream: StreamId;
  readonly expected: ExpectedRevision;
  readonly events: readonly PreparedEvent[];
}

/**
 * One atomic unit of writing: every stream's events are stored, or none are. Streams are distinct within a batch,
 * and event ids are distinct within a batch (the {@link EventStore} checks both before a storage sees it).
 */
export type AppendBatch = readonly StreamAppend[];

/** What one stream of a committed batch became. */
export interface StreamAppendResult {
  readonly stream: StreamId;
  /** The revision of the first event written, and of the last: pass `lastRevision` as `expected` next time. */
  readonly firstRevision: StreamRevision;
  readonly lastRevision: StreamRevision;
}

/** A committed batch: one entry per stream in request order, and every event written in request order. */
export interface AppendResult {
  readonly streams: readonly StreamAppendResult[];
  readonly events: readonly RecordedEvent[];
  /** The position of the batch's last event. */
  readonly lastPosition: GlobalPosition;
}

/** The outcome of one batch in a group commit: each batch succeeds or fails on its own. */
export type AppendOutcome =
  | { readonly ok: true; readonly result: AppendResult }
  | {
      readonly ok: false;
      readonly error: AevonError<'AEV_STREAM_VERSION_MISMATCH' | 'AEV_EVENT_ID_DUPLICATE'>;
    };

/** Flags that tell callers what an engine can do. */
export interface StorageCapabilities {
  /**
   * True when several processes may write one database at once (PostgreSQL). Positions are then not gap-free, only
   * strictly increasing. Default for a new engine: false.
   */
  readonly multiProcess: boolean;
}

/**
 * What a storage engine provides to back an {@link EventStore}. Implementations must pass `@aevon/conformance`.
 *
 * Contract:
 * - `appendBatches` writes every batch it is given in **one transaction**, in order. A batch whose expectation does
 *   not hold, or one of whose ids is already stored, is skipped as a whole and reported as a failed outcome; the
 *   others still commit. Positions are assigned inside the transaction and increase in batch order.
 * - Reads see only committed events. `readAll` never returns an event at a position below one it already returned
 *   to any reader that pages forward by position (no late-commit skip).
 * - Ranges arrive normalized (limit within bounds).
 * - Infrastructure failures throw `AEV_STORAGE_UNAVAILABLE` and leave nothing written.
 */
export interface Storage {
  /** A short engine name for logs and errors (`memory`, `sqlite`, `postgres`). */
  readonly engine: string;
  readonly capabilities: StorageCapabilities;
  appendBatches(batches: readonly AppendBatch[]): Promise<readonly AppendOutcome[]>;
  readStream(stream: StreamId, range: Range<StreamRevision>): Promise<readonly RecordedEvent[]>;
  readAll(range: Range<GlobalPosition>): Promise<readonly RecordedEvent[]>;
  readLatest(stream: StreamId): Promise<RecordedEvent | null>;
  streamInfo(stream: StreamId): Promise<StreamInfo | null>;
  /** The position of the last event a `readAll` can return now, or null for an empty log. */
  headPosition(): Promise<GlobalPosition | null>;
  /** Closes connections. Waits for nothing in flight: the {@link EventStore} drains first. */
  close(): Promise<void>;
}
