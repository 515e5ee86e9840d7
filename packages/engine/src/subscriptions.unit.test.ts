// Goal: createAppendWaiter wakes a live subscription from an extra wake source (what the PostgreSQL append listener
// provides) as well as from its own store's commits, without waiting for the poll. Method: two event stores on one
// in-memory storage (the writer's commits are not the subscriber's), a manual commit signal as the wake source, and a
// poll interval of an hour, so that only a wake-up can deliver an event within the test.
import type { EventStore, SubscriptionMessage } from '@aevon/core';
import {
  createCommitSignal,
  createEventStore,
  createInMemoryStorage,
  createManualClock,
  createSeededRandom,
} from '@aevon/core';
import { describe, expect, it } from 'vitest';
import { createAppendWaiter, openSubscription } from './subscriptions.js';

const hourMs = 3_600_000;

function storeOn(storage: ReturnType<typeof createInMemoryStorage>, seed: number): EventStore {
  return createEventStore({
    storage,
    clock: createManualClock(Date.UTC(2026, 1, 11)),
    random: createSeededRandom(seed),
  });
}

describe('createAppendWaiter', () => {
  it('wakes a live subscription when a wake source moves, and reads the new event from the log', async () => {
    // Given a subscriber and a writer that share the log but not the commit signal
    const storage = createInMemoryStorage();
    const subscriber = storeOn(storage, 1);
    const writer = storeOn(storage, 2);
    const wakeups = createCommitSignal();
    const controller = new AbortController();
    const messages = await openSubscription(
      subscriber,
      createAppendWaiter(subscriber.commits, hourMs, [wakeups]),
      { from: 'end' },
      controller.signal,
    );
    const iterator = messages[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toMatchObject({ kind: 'live' });
    // When the writer appends and the wake source reports it
    const next = iterator.next();
    await writer.append('other/1', [{ id: 'e-1', type: 'thing', data: {} }]);
    wakeups.committed();
    // Then the subscription delivers the event at once
    const step: IteratorResult<SubscriptionMessage> = await next;
    expect(step.value).toMatchObject({ kind: 'event', event: { id: 'e-1' } });
    controller.abort();
    await iterator.return?.();
  });

  it('counts a wake-up that arrives between the read and the wait', async () => {
    // Given a sequence observed before a wake source moves
    const storage = createInMemoryStorage();
    const store = storeOn(storage, 3);
    const wakeups = createCommitSignal();
    const waiter = createAppendWaiter(store.commits, hourMs, [wakeups]);
    const seen = waiter.sequence();
    wakeups.committed();
    // When the subscription then waits, it does not wait at all
    const controller = new AbortController();
    await waiter.waitBeyond(seen, controller.signal);
    expect(waiter.sequence()).toBe(seen + 1);
  });
});
