import type {
  AppendBatch,
  AppendOutcome,
  PreparedEvent,
  RecordedEvent,
  StreamAppendResult,
} from '@aevon/core';
import {
  assert,
  checkExpected,
  duplicateError,
  formatSequencePosition,
  recordEvent,
} from '@aevon/core';
import type { EventRow } from './event-row.js';
import type { Statements } from './statements.js';

/**
 * Writes batches inside a transaction the caller has begun: each batch in its own savepoint, so that a batch whose
 * expectation fails, or that repeats a stored id, is rolled back alone and reported, while its neighbours stay.
 * Driver errors propagate; the caller rolls the whole transaction back.
 */
export class BatchWriter {
  readonly #statements: Statements;
  /** The rowid of the last event kept in this transaction: the next insert must take the one after it. */
  #lastRowid = 0n;

  constructor(statements: Statements) {
    this.#statements = statements;
  }

  /** Writes every batch, in order, and returns one outcome per batch. */
  writeAll(batches: readonly AppendBatch[]): AppendOutcome[] {
    // The log is gap-free, so the transaction's first insert must take the rowid after the head.
    this.#lastRowid = this.#statements.head.get() ?? 0n;
    return batches.map((batch) => this.#writeInSavepoint(batch));
  }

  #writeInSavepoint(batch: AppendBatch): AppendOutcome {
    const statements = this.#statements;
    const checked = this.#checkExpectations(batch);
    if (!checked.ok) return checked;
    // Only a duplicate id can fail a batch once its expectations hold, and a failed INSERT undoes itself. So a
    // single-event batch needs no savepoint: the common case under group commit pays one statement, not three.
    const guarded = batch.length > 1 || (batch[0]?.events.length ?? 0) > 1;
    const lastRowidBefore = this.#lastRowid;
    if (guarded) statements.savepoint.run();
    const outcome = this.#insertAll(batch, checked.actual);
    if (!outcome.ok) {
      if (guarded) statements.rollbackToSavepoint.run();
      // Rolled-back rowids are taken again by the next insert, which keeps positions gap-free.
      this.#lastRowid = lastRowidBefore;
    }
    if (guarded) statements.release.run();
    return outcome;
  }

  /**
   * Reads each stream's last revision and checks its expectation, writing nothing. The in-memory reference model
   * checks stream by stream, each expectation before that stream's ids; so when stream k fails its expectation,
   * a stored id among the streams before it is the error to report instead (a rare path, one lookup per id).
   */
  #checkExpectations(
    batch: AppendBatch,
  ): { readonly ok: true; readonly actual: readonly (bigint | null)[] } | FailedOutcome {
    assert(batch.length > 0, 'a batch names at least one stream');
    const actual: (bigint | null)[] = [];
    for (const [index, part] of batch.entries()) {
      assert(part.events.length > 0, 'a stream append holds at least one event');
      const last = this.#statements.lastRevision.get(part.stream) ?? null;
      const mismatch = checkExpected(part.stream, part.expected, last);
      if (mismatch !== null)
        return this.#storedIdIn(batch.slice(0, index)) ?? { ok: false, error: mismatch };
      actual.push(last);
    }
    return { ok: true, actual };
  }

  #storedIdIn(parts: AppendBatch): FailedOutcome | null {
    for (const part of parts) {
      for (const event of part.events) {
        const stored = this.#statements.byId.get(event.id);
        if (stored !== undefined) return duplicateOf(stored);
      }
    }
    return null;
  }

  /** Inserts every event in request order; the first stored id met fails the batch. */
  #insertAll(batch: AppendBatch, actual: readonly (bigint | null)[]): AppendOutcome {
    const events: RecordedEvent[] = [];
    const streams: StreamAppendResult[] = [];
    for (const [index, part] of batch.entries()) {
      const last = actual[index];
      assert(last !== undefined, 'every stream of the batch was checked');
      // Contiguity before the INSERT (paired with the check in readStream): the first revision follows the last.
      const firstRevision = last === null ? 0n : last + 1n;
      let revision = firstRevision;
      for (const event of part.events) {
        const written = this.#insert(part.stream, revision, event);
        if (!written.ok) return written;
        events.push(written.event);
        revision += 1n;
      }
      streams.push({ stream: part.stream, firstRevision, lastRevision: revision - 1n });
    }
    const last = events[events.length - 1];
    assert(last !== undefined, 'a committed batch holds at least one event');
    return { ok: true, result: { streams, events, lastPosition: last.position } };
  }

  #insert(
    stream: string,
    revision: bigint,
    event: PreparedEvent,
  ): { readonly ok: true; readonly event: RecordedEvent } | FailedOutcome {
    assert(revision >= 0n, 'revisions start at 0');
    let rowid: number | bigint;
    try {
      rowid = this.#statements.insert.run(
        event.id,
        stream,
        revision,
        event.type,
        event.schemaVersion,
        event.dataJson ?? JSON.stringify(event.data),
        JSON.stringify(event.metadata),
        event.occurredAt,
        event.recordedAt,
        event.correlationId,
        event.causationId,
      ).lastInsertRowid;
    } catch (error) {
      // The id's UNIQUE index is the duplicate check: no extra query per event on the happy path. The revision is
      // computed from the stream's last one, so a UNIQUE failure can only be the id; the lookup proves it.
      if (!isUniqueViolation(error)) throw error;
      const stored = this.#statements.byId.get(event.id);
      if (stored === undefined) throw error;
      return duplicateOf(stored);
    }
    assert(typeof rowid === 'bigint', 'the insert statement returns safe integers');
    assert(
      rowid === this.#lastRowid + 1n,
      'positions are gap-free: each insert takes the next rowid',
    );
    this.#lastRowid = rowid;
    return { ok: true, event: recordEvent(event, stream, revision, formatSequencePosition(rowid)) };
  }
}

type FailedOutcome = Extract<AppendOutcome, { ok: false }>;

function duplicateOf(stored: EventRow): FailedOutcome {
  return {
    ok: false,
    error: duplicateError({ ...stored, position: formatSequencePosition(stored.position) }),
  };
}

function isUniqueViolation(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { code?: unknown }).code === 'SQLITE_CONSTRAINT_UNIQUE'
  );
}
