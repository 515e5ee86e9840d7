import type { GlobalPosition, StreamRevision } from '../event/event.js';
import type { Range } from '../event/range.js';
import { assert } from '../internal/assert.js';
import type { Storage } from '../storage/storage.js';
import type { StoredBucket } from './bucket-fold.js';
import { mergeAggregate, principalStream } from './bucket-fold.js';
import type { MeteringStore, StateReadQuery, StateSnapshot, TailEvent } from './metering-store.js';
import {
  assertSweepStep,
  occurredInRange,
  tailEventsMaxDefault,
  tailPageEventsDefault,
  tailTooLargeError,
} from './metering-store.js';

/** Options for {@link createInMemoryMeteringStore}. */
export interface InMemoryMeteringStoreOptions {
  /** Most tail events one state query scans. Default: {@link tailEventsMaxDefault}. */
  readonly tailEventsMax?: number;
  /** Events per tail page; at most the storage's read page maximum. Default: {@link tailPageEventsDefault}. */
  readonly tailPageEvents?: number;
}

/**
 * A {@link MeteringStore} held in memory, over any {@link Storage} (the in-memory one in unit tests). Buckets and
 * checkpoint are captured together synchronously, so a snapshot is consistent; the tail is read from the
 * principal's stream backwards, page by page, down to the checkpoint (within a stream, revision order is log order).
 */
export function createInMemoryMeteringStore(
  storage: Storage,
  options: InMemoryMeteringStoreOptions = {},
): MeteringStore {
  const tailEventsMax = options.tailEventsMax ?? tailEventsMaxDefault;
  const tailPageEvents = options.tailPageEvents ?? tailPageEventsDefault;
  assert(
    Number.isSafeInteger(tailEventsMax) && tailEventsMax > 0,
    'tailEventsMax is a positive integer',
  );
  assert(
    Number.isSafeInteger(tailPageEvents) && tailPageEvents > 0,
    'tailPageEvents is a positive integer',
  );
  const buckets = new Map<string, StoredBucket>();
  let checkpoint: GlobalPosition | null = null;
  let isLocked = false;
  const keyOf = (rule: string, principalId: string, bucketStartMs: number): string =>
    JSON.stringify([rule, principalId, bucketStartMs]);

  const readTail = async (
    query: StateReadQuery,
    after: GlobalPosition | null,
  ): Promise<TailEvent[]> => {
    const tail: TailEvent[] = [];
    let scanned = 0;
    let end: StreamRevision | null = null;
    for (;;) {
      const range: Range<StreamRevision> = {
        start: null,
        startExclusive: false,
        end,
        endExclusive: true,
        limit: tailPageEvents,
        direction: 'backward',
      };
      const page = await storage.readStream(principalStream(query.principalId), range);
      for (const event of page) {
        if (after !== null && event.position <= after) return tail.reverse();
        scanned += 1;
        if (scanned > tailEventsMax) throw tailTooLargeError(scanned, tailEventsMax);
        if (
          event.type === query.sourceEvent &&
          occurredInRange(event.occurredAt, query.fromMs, query.toMs)
        ) {
          tail.push({ position: event.position, occurredAt: event.occurredAt, data: event.data });
        }
      }
      const last = page[page.length - 1];
      if (page.length < tailPageEvents || last === undefined) return tail.reverse();
      end = last.revision;
    }
  };

  return {
    loadCheckpoint: () => Promise.resolve(checkpoint),
    applySweep: (step) => {
      assertSweepStep(step);
      if (checkpoint !== step.previous) return Promise.resolve(false);
      for (const delta of step.buckets) {
        const key = keyOf(delta.rule, delta.principalId, delta.bucketStartMs);
        const merged = mergeAggregate(delta.operator, buckets.get(key), delta);
        buckets.set(key, {
          bucketStartMs: delta.bucketStartMs,
          eventCount: merged.eventCount,
          value: merged.value,
        });
      }
      checkpoint = step.checkpoint;
      return Promise.resolve(true);
    },
    readState: async (query): Promise<StateSnapshot> => {
      // Captured in one synchronous step: the buckets hold exactly the events up to this checkpoint.
      const at = checkpoint;
      const selected: StoredBucket[] = [];
      for (const [key, bucket] of buckets) {
        if (bucket.bucketStartMs < query.fromMs || bucket.bucketStartMs >= query.toMs) continue;
        if (key === keyOf(query.rule, query.principalId, bucket.bucketStartMs))
          selected.push(bucket);
      }
      selected.sort((a, b) => a.bucketStartMs - b.bucketStartMs);
      return { checkpoint: at, buckets: selected, tail: await readTail(query, at) };
    },
    withSweepLock: async (fn) => {
      if (isLocked) return { acquired: false };
      isLocked = true;
      try {
        return { acquired: true, value: await fn() };
      } finally {
        isLocked = false;
      }
    },
    close: () => Promise.resolve(),
  };
}
