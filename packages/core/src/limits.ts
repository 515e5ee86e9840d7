/**
 * Every user-facing maximum (STYLE 2.7). Exceeding one is an operating error with a code; each can be overridden
 * when a store is created.
 */
export interface Limits {
  /** Events in one append call (all streams together). Error: AEV_APPEND_BATCH_TOO_LARGE. */
  readonly appendEventsMax: number;
  /** UTF-8 bytes of one event's JSON `data` plus `metadata`. Error: AEV_EVENT_DATA_TOO_LARGE. */
  readonly eventDataBytesMax: number;
  /** Events one read returns. Error: AEV_READ_LIMIT_TOO_LARGE. */
  readonly readPageEventsMax: number;
  /**
   * Nesting levels of one event's `data` (the object itself is level 1). Error: AEV_REQUEST_INVALID. Without it the
   * depth would be bounded only by whichever recursion overflows first, JavaScript's or PostgreSQL's.
   */
  readonly eventDataDepthMax: number;
  /** Characters in a stream id. */
  readonly streamIdLengthMax: number;
  /** Characters in an event id. */
  readonly eventIdLengthMax: number;
  /** Characters in an event type. */
  readonly eventTypeLengthMax: number;
  /** Streams in one atomic multi-stream append. */
  readonly appendStreamsMax: number;
  /** Append batches coalesced into one transaction by group commit. */
  readonly groupCommitBatchesMax: number;
  /** Events coalesced into one transaction by group commit (a single larger batch still commits alone). */
  readonly groupCommitEventsMax: number;
  /** Append batches waiting for a commit; beyond it appends fail fast with AEV_OVERLOADED. */
  readonly appendQueueBatchesMax: number;
}

/** The defaults. */
export const defaultLimits: Limits = Object.freeze({
  appendEventsMax: 10_000,
  eventDataBytesMax: 1024 * 1024,
  eventDataDepthMax: 64,
  readPageEventsMax: 10_000,
  streamIdLengthMax: 512,
  eventIdLengthMax: 256,
  eventTypeLengthMax: 256,
  appendStreamsMax: 100,
  groupCommitBatchesMax: 1_000,
  groupCommitEventsMax: 20_000,
  appendQueueBatchesMax: 100_000,
});

/** Merges overrides into the defaults. */
export function createLimits(overrides: Partial<Limits> = {}): Limits {
  return Object.freeze({ ...defaultLimits, ...overrides });
}
