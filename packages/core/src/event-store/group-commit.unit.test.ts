import { describe, expect, it } from 'vitest';
import { createEventStore } from './event-store.js';
import { createManualClock } from '../clock.js';
import { isAevonError } from '../errors/aevon-error.js';
import { createSeededRandom } from '../random.js';
import { createInMemoryStorage } from '../storage/in-memory-storage.js';
import type { AppendBatch, Storage } from '../storage/storage.js';

/** Wraps a storage to count the transactions (appendBatches calls) and the batches in each. */
function countingStorage(): { storage: Storage; groups: number[] } {
  const inner = createInMemoryStorage();
  const groups: number[] = [];
  const storage: Storage = {
    ...inner,
    appendBatches: (batches: readonly AppendBatch[]) => {
      groups.push(batches.length);
      return inner.appendBatches(batches);
    },
  };
  return { storage, groups };
}

const clock = createManualClock(0);

describe('group commit', () => {
  it('coalesces appends issued together into one transaction', async () => {
    // Given a store whose storage counts transactions
    const { storage, groups } = countingStorage();
    const store = createEventStore({ storage, clock, random: createSeededRandom(1) });
    // When 64 appenders each append one event at the same time
    await Promise.all(
      Array.from({ length: 64 }, (_, i) => store.append(`s/${i}`, [{ type: 't', data: { i } }])),
    );
    // Then one transaction carried all of them
    expect(groups).toEqual([64]);
  });

  it('commits a lone append at once, without waiting for company', async () => {
    const { storage, groups } = countingStorage();
    const store = createEventStore({ storage, clock, random: createSeededRandom(1) });
    await store.append('s', [{ type: 't', data: {} }]);
    await store.append('s', [{ type: 't', data: {} }]);
    expect(groups).toEqual([1, 1]);
  });

  it('gathers appends from separate callbacks into one group when the schedule waits for them', async () => {
    // Given a schedule that starts a group only when told (as setImmediate does at the end of an I/O phase)
    const { storage, groups } = countingStorage();
    const pending: (() => void)[] = [];
    const store = createEventStore({
      storage,
      clock,
      random: createSeededRandom(1),
      scheduleGroupCommit: (start) => pending.push(start),
    });
    // When three appends arrive from separate callbacks, microtasks running in between
    const appends = [];
    for (let i = 0; i < 3; i += 1) {
      appends.push(store.append(`s/${i}`, [{ type: 't', data: { i } }]));
      await Promise.resolve();
    }
    expect(groups).toEqual([]);
    expect(pending).toHaveLength(1);
    pending.shift()?.();
    await Promise.all(appends);
    // Then one transaction carried all three
    expect(groups).toEqual([3]);
  });

  it('splits groups at the batch and event maxima', async () => {
    const { storage, groups } = countingStorage();
    const store = createEventStore({
      storage,
      clock,
      random: createSeededRandom(1),
      limits: { groupCommitBatchesMax: 4, groupCommitEventsMax: 100 },
    });
    await Promise.all(
      Array.from({ length: 10 }, (_, i) => store.append(`s/${i}`, [{ type: 't', data: {} }])),
    );
    expect(groups).toEqual([4, 4, 2]);
  });

  it('fails fast with AEV_OVERLOADED when the queue is full, and recovers', async () => {
    const { storage } = countingStorage();
    const store = createEventStore({
      storage,
      clock,
      random: createSeededRandom(1),
      limits: { appendQueueBatchesMax: 3 },
    });
    const outcomes = await Promise.allSettled(
      Array.from({ length: 5 }, (_, i) => store.append(`s/${i}`, [{ type: 't', data: {} }])),
    );
    expect(outcomes.map((o) => o.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'rejected',
      'rejected',
    ]);
    const rejected = outcomes[3];
    expect(rejected?.status === 'rejected' && isAevonError(rejected.reason, 'AEV_OVERLOADED')).toBe(
      true,
    );
    await expect(store.append('after', [{ type: 't', data: {} }])).resolves.toBeDefined();
  });

  it('rejects every batch of a group whose transaction fails, and keeps going', async () => {
    const inner = createInMemoryStorage();
    let failNext = true;
    const storage: Storage = {
      ...inner,
      appendBatches: (batches) => {
        if (failNext) {
          failNext = false;
          return Promise.reject(new Error('disk on fire'));
        }
        return inner.appendBatches(batches);
      },
    };
    const store = createEventStore({ storage, clock, random: createSeededRandom(1) });
    const first = await Promise.allSettled([
      store.append('a', [{ type: 't', data: {} }]),
      store.append('b', [{ type: 't', data: {} }]),
    ]);
    expect(first.map((o) => o.status)).toEqual(['rejected', 'rejected']);
    await store.append('c', [{ type: 't', data: {} }]);
    expect((await store.readAllPage()).map((e) => e.stream)).toEqual(['c']);
  });
});
