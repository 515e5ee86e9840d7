import { AevonError } from '../errors/aevon-error.js';
import type { Range } from '../event/range.js';
import { selectRange } from '../event/range.js';
import type {
  GlobalPosition,
  RecordedEvent,
  StreamId,
  StreamInfo,
  StreamRevision,
  EventData,
} from '../event/event.js';
import { asGlobalPosition, recordEvent } from '../event/event.js';
import { assert } from '../internal/assert.js';
import { checkExpected } from './expectation.js';
import type {
  AppendBatch,
  AppendOutcome,
  AppendResult,
  Storage,
  StreamAppendResult,
} from './storage.js';

/** Formats the in-memory log's sequence number as a fixed-width position, so string order equals numeric order. */
export function formatSequencePosition(sequence: bigint): GlobalPosition {
  assert(sequence >= 0n, 'a sequence position is never negative');
  return asGlobalPosition(sequence.toString().padStart(20, '0'));
}

/**
 * A {@link Storage} held in memory: the reference model for property tests and the engine for unit tests.
 * Positions are gap-free sequence numbers starting at 1.
 */
export function createInMemoryStorage(): Storage {
  const log: RecordedEvent[] = [];
  const streams = new Map<StreamId, RecordedEvent[]>();
  const byId = new Map<string, RecordedEvent>();
  let closed = false;

  const ensureOpen = (): void => {
    if (closed) throw new AevonError('AEV_STORAGE_UNAVAILABLE', { reason: 'storage is closed' });
  };

  const lastRevision = (stream: StreamId): StreamRevision | null => {
    const events = streams.get(stream);
    return events === undefined || events.length === 0 ? null : BigInt(events.length - 1);
  };

  const appendOne = (batch: AppendBatch): AppendOutcome => {
    for (const part of batch) {
      const mismatch = checkExpected(part.stream, part.expected, lastRevision(part.stream));
      if (mismatch !== null) return { ok: false, error: mismatch };
      for (const event of part.events) {
        const stored = byId.get(event.id);
        if (stored !== undefined) return { ok: false, error: duplicateError(stored) };
      }
    }
    const written: RecordedEvent[] = [];
    const results: StreamAppendResult[] = [];
    for (const part of batch) {
      const events = streams.get(part.stream) ?? [];
      streams.set(part.stream, events);
      const firstRevision = BigInt(events.length);
      for (const event of part.events) {
        // Like a database, keep what was validated, not the caller's object (which it may still change).
        const data = JSON.parse(event.dataJson ?? JSON.stringify(event.data)) as EventData;
        const recorded = recordEvent(
          { ...event, data },
          part.stream,
          BigInt(events.length),
          formatSequencePosition(BigInt(log.length + 1)),
        );
        events.push(recorded);
        log.push(recorded);
        byId.set(recorded.id, recorded);
        written.push(recorded);
      }
      results.push({ stream: part.stream, firstRevision, lastRevision: BigInt(events.length - 1) });
    }
    const last = written[written.length - 1];
    assert(last !== undefined, 'a committed batch holds at least one event');
    const result: AppendResult = { streams: results, events: written, lastPosition: last.position };
    return { ok: true, result };
  };

  return {
    engine: 'memory',
    capabilities: { multiProcess: false },
    appendBatches: (batches) => {
      ensureOpen();
      return Promise.resolve(batches.map(appendOne));
    },
    readStream: (stream: StreamId, range: Range<StreamRevision>) => {
      ensureOpen();
      return Promise.resolve(selectRange(streams.get(stream) ?? [], (e) => e.revision, range));
    },
    readAll: (range: Range<GlobalPosition>) => {
      ensureOpen();
      return Promise.resolve(selectRange(log, (e) => e.position, range));
    },
    readLatest: (stream: StreamId) => {
      ensureOpen();
      const events = streams.get(stream);
      return Promise.resolve(events?.[events.length - 1] ?? null);
    },
    streamInfo: (stream: StreamId) => {
      ensureOpen();
      const events = streams.get(stream);
      const first = events?.[0];
      const last = events?.[events.length - 1];
      if (first === undefined || last === undefined) return Promise.resolve(null);
      const info: StreamInfo = {
        stream,
        revision: last.revision,
        firstPosition: first.position,
        lastPosition: last.position,
        createdAt: first.recordedAt,
        updatedAt: last.recordedAt,
      };
      return Promise.resolve(info);
    },
    headPosition: () => {
      ensureOpen();
      return Promise.resolve(log[log.length - 1]?.position ?? null);
    },
    close: () => {
      closed = true;
      return Promise.resolve();
    },
  };
}

/** The `AEV_EVENT_ID_DUPLICATE` error naming a stored event. Engines build theirs with it too. */
export function duplicateError(stored: {
  readonly id: string;
  readonly stream: StreamId;
  readonly revision: StreamRevision;
  readonly position: GlobalPosition;
}): AevonError<'AEV_EVENT_ID_DUPLICATE'> {
  return new AevonError('AEV_EVENT_ID_DUPLICATE', {
    id: stored.id,
    stream: stored.stream,
    revision: stored.revision.toString(),
    position: stored.position,
  });
}
