// Goal: the in-process named subscription API a projector uses (resume from the stored checkpoint, ack forward
// only) and the lag a status reports, exact and bounded. Method: an event store on in-memory storage, a manual
// clock, and an append waiter that never sleeps long (live delivery is not under test here).
import type { EventStore, GlobalPosition, SubscriptionMessage } from '@aevon/core';
import {
  createEventStore,
  createInMemoryNamedSubscriptionStore,
  createInMemoryStorage,
  isAevonError,
} from '@aevon/core';
import { createManualClock, createSeededRandom } from '@aevon/core/testing';
import { describe, expect, it } from 'vitest';
import type { NamedSubscriptionContext } from './named-subscriptions.js';
import { createNamedSubscriptions, openNamedSubscription } from './named-subscriptions.js';
import { createAppendWaiter } from './subscriptions.js';

const t0 = Date.UTC(2026, 1, 12);

function createContext(): NamedSubscriptionContext & {
  clock: ReturnType<typeof createManualClock>;
} {
  const clock = createManualClock(t0);
  const store = createEventStore({
    storage: createInMemoryStorage(),
    clock,
    random: createSeededRandom(3),
  });
  return {
    store,
    clock,
    subscriptions: createInMemoryNamedSubscriptionStore(),
    waiter: createAppendWaiter(store.commits, 5),
  };
}

async function appendTypes(store: EventStore, stream: string, types: readonly string[]) {
  const result = await store.append(
    stream,
    types.map((type) => ({ type, data: {} })),
  );
  return result;
}

/** Reads messages until the `live` marker; returns the events' positions and the live position. */
async function untilLive(messages: AsyncIterable<SubscriptionMessage>): Promise<GlobalPosition[]> {
  const positions: GlobalPosition[] = [];
  for await (const message of messages) {
    if (message.kind === 'event') positions.push(message.event.position);
    if (message.kind === 'live') break;
  }
  return positions;
}

async function positionsOf(store: EventStore): Promise<GlobalPosition[]> {
  return (await store.readAllPage()).map((event) => event.position);
}

describe('openNamedSubscription', () => {
  it('resumes a projector after its last acknowledged position, and ack only moves forward', async () => {
    // Given: six events and a subscription from the start
    const context = createContext();
    await appendTypes(context.store, 'accounts/1', ['a', 'b', 'a', 'b', 'a', 'b']);
    const all = await positionsOf(context.store);
    const named = createNamedSubscriptions(context);
    await named.put('projector', { from: 'start' });
    // When: a first run handles three events, acknowledging each
    const first = new AbortController();
    const run = await openNamedSubscription({
      ...context,
      name: 'projector',
      signal: first.signal,
    });
    const handled: GlobalPosition[] = [];
    for await (const message of run.messages) {
      if (message.kind !== 'event') continue;
      handled.push(message.event.position);
      await run.ack(message.event.position);
      if (handled.length === 3) break;
    }
    first.abort();
    // Then: a late acknowledgement changes nothing, and a second run starts after the third event
    const late = await run.ack(all[0] ?? '');
    expect(late.position).toBe(all[2]);
    const second = new AbortController();
    const rerun = await openNamedSubscription({
      ...context,
      name: 'projector',
      signal: second.signal,
    });
    expect(rerun.record.position).toBe(all[2]);
    const rest = await untilLive(rerun.messages);
    second.abort();
    expect([...handled, ...rest]).toEqual(all);
  });

  it('refuses an unknown name and a position the log never produced', async () => {
    expect.assertions(4);
    const context = createContext();
    await appendTypes(context.store, 'accounts/1', ['a']);
    const signal = new AbortController().signal;
    await openNamedSubscription({ ...context, name: 'nobody', signal }).catch((error: unknown) => {
      expect(isAevonError(error, 'AEV_NOT_FOUND')).toBe(true);
    });
    await createNamedSubscriptions(context).put('p', {});
    const handle = await openNamedSubscription({ ...context, name: 'p', signal });
    await handle.ack('00000000000000000999').catch((error: unknown) => {
      expect(isAevonError(error, 'AEV_REQUEST_INVALID')).toBe(true);
      expect((error as { details: { field: string } }).details.field).toBe('position');
    });
    expect((await context.subscriptions.find('p'))?.position).toBe(
      (await positionsOf(context.store))[0],
    );
  });
});

describe('named subscription names', () => {
  it('refuses ws, which GET /v1/subscriptions/ws (the WebSocket stream) would shadow', async () => {
    expect.assertions(2);
    const context = createContext();
    await createNamedSubscriptions(context)
      .put('ws', {})
      .catch((error: unknown) => {
        expect(isAevonError(error, 'AEV_REQUEST_INVALID')).toBe(true);
        expect((error as { details: { field: string } }).details.field).toBe('name');
      });
  });
});

describe('named subscription status', () => {
  it('counts the matching events after the checkpoint and the age of the first one', async () => {
    // Given: a, b at t0; a, b at t0 + 30 s; now is t0 + 100 s
    const context = createContext();
    const named = createNamedSubscriptions(context);
    await appendTypes(context.store, 'accounts/1', ['a', 'b']);
    context.clock.advance(30_000);
    await appendTypes(context.store, 'accounts/2', ['a', 'b']);
    context.clock.advance(70_000);
    const all = await positionsOf(context.store);
    await named.put('only-a', { filter: { types: ['a'] }, from: 'start' });
    // When / Then: from the start, two events match and the first is 100 s old
    expect(await named.status('only-a')).toMatchObject({
      headPosition: all[3],
      lagEvents: 2,
      isLagExact: true,
      lagSeconds: 100,
    });
    // When / Then: after the second event, one matches, 70 s old
    await named.ack('only-a', { position: all[1] });
    expect(await named.status('only-a')).toMatchObject({ lagEvents: 1, lagSeconds: 70 });
    // When / Then: caught up
    await named.ack('only-a', { position: all[3] });
    expect(await named.status('only-a')).toMatchObject({
      lagEvents: 0,
      isLagExact: true,
      lagSeconds: 0,
    });
  });

  it('bounds the lag scan: beyond the maximum the count is a lower bound', async () => {
    // Given: more events after the checkpoint than a status scans, only the last one matching
    const lagScanEventsMax = 10;
    const context = { ...createContext(), lagScanEventsMax };
    const named = createNamedSubscriptions(context);
    const filler = Array.from({ length: lagScanEventsMax }, () => 'b');
    await appendTypes(context.store, 'bulk', filler);
    context.clock.advance(5_000);
    await appendTypes(context.store, 'bulk', ['a', 'b']);
    context.clock.advance(1_000);
    await named.put('sparse', { filter: { types: ['a'] }, from: 'start' });
    await named.put('dense', { from: 'start' });
    // When
    const sparse = await named.status('sparse');
    const dense = await named.status('dense');
    // Then: the sparse one saw no match in its window; its age is measured from the first event not scanned
    expect(sparse).toMatchObject({ lagEvents: 0, isLagExact: false, lagSeconds: 1 });
    expect(dense).toMatchObject({
      lagEvents: lagScanEventsMax,
      isLagExact: false,
      lagSeconds: 6,
    });
  });
});
