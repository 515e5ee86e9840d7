import type { GlobalPosition, StreamRevision } from '../event/event.js';
import type { Range } from '../event/range.js';
import { assert } from '../internal/assert.js';
import type { Storage } from '../storage/storage.js';
import type { StoredBucket } from './bucket-fold.js';
import { mergeAggregate, principalStream } from './bucket-fold.js';
import { bucketWidthMs } from './buckets.js';
import type { BucketRead } from './rollups.js';
import { planBucketReads, rollUpDeltas } from './rollups.js';
import type { BucketDelta } from './bucket-fold.js';
import type {
  MeteringStore,
  OwnedBucket,
  OwnedRollup,
  StateReadQuery,
  StateSnapshot,
  TailEvent,
} from './metering-store.js';
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
  const buckets = new Map<string, OwnedBucket>();
  /** Rollups by [rule, principal, width, start]: always complete, so every read may use them. */
  const rollups = new Map<string, OwnedRollup>();
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

  const rollupKeyOf = (rule: string, principalId: string, widthMs: number, start: number): string =>
    JSON.stringify([rule, principalId, widthMs, start]);

  const merge = (deltas: readonly BucketDelta[]): void => {
    for (const delta of deltas) {
      const key = keyOf(delta.rule, delta.principalId, delta.bucketStartMs);
      buckets.set(key, mergedBucket(delta, buckets.get(key)));
    }
    for (const delta of rollUpDeltas(deltas)) {
      const key = rollupKeyOf(delta.rule, delta.principalId, delta.widthMs, delta.bucketStartMs);
      rollups.set(key, { ...mergedBucket(delta, rollups.get(key)), widthMs: delta.widthMs });
    }
  };
  const deleteFrom = (map: Map<string, OwnedBucket>, rule: string): number => {
    let deleted = 0;
    for (const [key, bucket] of map) {
      if (bucket.rule !== rule) continue;
      map.delete(key);
      deleted += 1;
    }
    return deleted;
  };
  const deleteRule = (rule: string): number => {
    deleteFrom(rollups, rule);
    return deleteFrom(buckets, rule);
  };
  const renameRule = (staging: string, rule: string): void => {
    for (const [key, bucket] of [...buckets]) {
      if (bucket.rule !== staging) continue;
      buckets.delete(key);
      buckets.set(keyOf(rule, bucket.principalId, bucket.bucketStartMs), { ...bucket, rule });
    }
    for (const [key, rollup] of [...rollups]) {
      if (rollup.rule !== staging) continue;
      rollups.delete(key);
      const renamed = { ...rollup, rule };
      rollups.set(
        rollupKeyOf(rule, rollup.principalId, rollup.widthMs, rollup.bucketStartMs),
        renamed,
      );
    }
  };
  /** The stored buckets of one plan read, ascending (a scan: this store serves tests and small logs). */
  const readPlanned = (query: StateReadQuery, read: BucketRead): StoredBucket[] => {
    const selected: StoredBucket[] = [];
    const isMinute = read.widthMs === bucketWidthMs;
    for (const [key, bucket] of isMinute ? buckets : rollups) {
      if (bucket.bucketStartMs < read.fromMs || bucket.bucketStartMs >= read.toMs) continue;
      const expected = isMinute
        ? keyOf(query.rule, query.principalId, bucket.bucketStartMs)
        : rollupKeyOf(query.rule, query.principalId, read.widthMs, bucket.bucketStartMs);
      if (key === expected) selected.push(storedOf(bucket));
    }
    return selected.sort((a, b) => a.bucketStartMs - b.bucketStartMs);
  };

  return {
    loadCheckpoint: () => Promise.resolve(checkpoint),
    applySweep: (step) => {
      assertSweepStep(step);
      if (checkpoint !== step.previous) return Promise.resolve(false);
      merge(step.buckets);
      checkpoint = step.checkpoint;
      return Promise.resolve(true);
    },
    readState: async (query): Promise<StateSnapshot> => {
      // Captured in one synchronous step: the buckets hold exactly the events up to this checkpoint.
      const at = checkpoint;
      const plan = planBucketReads(query.fromMs, query.toMs, query.granularity, null);
      const selected = plan.flatMap((read) => readPlanned(query, read));
      return { checkpoint: at, buckets: selected, tail: await readTail(query, at) };
    },
    readBuckets: (selection) => {
      const rules = new Set(selection.rules);
      const listed = [...buckets.values()].filter(
        (bucket) =>
          rules.has(bucket.rule) &&
          (selection.principalId === undefined || bucket.principalId === selection.principalId),
      );
      listed.sort(compareOwnedBuckets);
      const listedRollups = [...rollups.values()].filter(
        (rollup) =>
          rules.has(rollup.rule) &&
          (selection.principalId === undefined || rollup.principalId === selection.principalId),
      );
      return Promise.resolve({
        checkpoint,
        buckets: listed,
        rollups: listedRollups,
        rollupsFromMs: null,
      });
    },
    mergeBuckets: (deltas) => {
      merge(deltas);
      return Promise.resolve();
    },
    deleteRule: (rule) => Promise.resolve(deleteRule(rule)),
    replaceRule: (replacement) => {
      if (checkpoint !== replacement.checkpoint) return Promise.resolve(false);
      deleteRule(replacement.rule);
      renameRule(replacement.staging, replacement.rule);
      return Promise.resolve(true);
    },
    countEventsThrough: async (through) => {
      let count = 0;
      let after: GlobalPosition | null = null;
      for (;;) {
        const page = await storage.readAll({
          start: after,
          startExclusive: after !== null,
          end: through,
          endExclusive: false,
          limit: tailPageEvents,
          direction: 'forward',
        });
        count += page.length;
        const last = page[page.length - 1];
        if (page.length < tailPageEvents || last === undefined) return count;
        after = last.position;
      }
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

function mergedBucket(delta: BucketDelta, stored: OwnedBucket | undefined): OwnedBucket {
  const merged = mergeAggregate(delta.operator, stored, delta);
  return {
    rule: delta.rule,
    principalId: delta.principalId,
    bucketStartMs: delta.bucketStartMs,
    eventCount: merged.eventCount,
    value: merged.value,
  };
}

function storedOf(bucket: OwnedBucket): StoredBucket {
  return {
    bucketStartMs: bucket.bucketStartMs,
    eventCount: bucket.eventCount,
    value: bucket.value,
  };
}

function compareOwnedBuckets(a: OwnedBucket, b: OwnedBucket): number {
  if (a.rule !== b.rule) return a.rule < b.rule ? -1 : 1;
  if (a.principalId !== b.principalId) return a.principalId < b.principalId ? -1 : 1;
  return a.bucketStartMs - b.bucketStartMs;
}
