// Goal: a catch-up subscription delivers the history in order, switches to live with no gap and no duplicate,
// filters, reports checkpoints for what it skipped, never reads more than one page ahead of its consumer, and ends
// on abort. Method: the in-memory storage, with a waiter that wakes on in-process commits only (no timers).
import { describe, expect, it } from 'vitest';
import { createManualClock } from '../clock.js';
import type { GlobalPosition, RecordedEvent } from '../event/event.js';
import type { EventStore } from '../event-store/event-store.js';
import { createEventStore } from '../event-store/event-store.js';
import { createSeededRandom } from '../random.js';
import { createInMemoryStorage } from '../storage/in-memory-storage.js';
import { compileStreamPattern } from './stream-pattern.js';
import type { AppendWaiter, SubscriptionMessage, SubscriptionStart } from './subscription.js';
import { subscribe } from './subscription.js';

function createStore(): EventStore {
  return createEventStore({
    storage: createInMemoryStorage(),
    clock: createManualClock(Date.UTC(2026, 0, 1)),
    random: createSeededRandom(1),
  });
}

function commitWaiter(store: EventStore): AppendWaiter {
  return {
    sequence: () => store.commits.sequence(),
    waitBeyond: (seen, signal) =>
      new Promise<void>((resolve) => {
        if (store.commits.sequence() > seen || signal.aborted) return resolve();
        const off = store.commits.onCommit(() => {
          off();
          resolve();
        });
        signal.addEventListener('abort', () => {
          off();
          resolve();
        });
      }),
  };
}

async function append(store: EventStore, stream: string, count: number, type = 'thing') {
  for (let i = 0; i < count; i += 1) await store.append(stream, [{ type, data: { i } }]);
}

/** Collects messages until `until` says stop, then aborts. */
async function collect(
  store: EventStore,
  from: SubscriptionStart,
  until: (messages: readonly SubscriptionMessage[]) => boolean,
  options: { pageEvents?: number; streams?: string[]; types?: string[] } = {},
  onMessage?: (message: SubscriptionMessage) => Promise<void>,
): Promise<SubscriptionMessage[]> {
  const controller = new AbortController();
  const messages: SubscriptionMessage[] = [];
  for await (const message of subscribe({
    log: store,
    from,
    waiter: commitWaiter(store),
    signal: controller.signal,
    pageEvents: options.pageEvents ?? 3,
    filter: {
      ...(options.streams === undefined
        ? {}
        : { streams: options.streams.map((p) => compileStreamPattern(p)) }),
      ...(options.types === undefined ? {} : { types: new Set(options.types) }),
    },
  })) {
    messages.push(message);
    await onMessage?.(message);
    if (until(messages)) controller.abort();
  }
  return messages;
}

const events = (messages: readonly SubscriptionMessage[]): RecordedEvent[] =>
  messages.flatMap((m) => (m.kind === 'event' ? [m.event] : []));

describe('subscribe', () => {
  it('delivers the history, reports live once, then delivers new events in log order', async () => {
    const store = createStore();
    await append(store, 'accounts/1', 7);
    let appended = false;
    const messages = await collect(
      store,
      'start',
      (all) => events(all).length === 10,
      {},
      async (message) => {
        if (message.kind === 'live' && !appended) {
          appended = true;
          await append(store, 'accounts/2', 3);
        }
      },
    );
    const all = [];
    for await (const event of store.readAll()) all.push(event);
    expect(events(messages).map((e) => e.position)).toEqual(all.map((e) => e.position));
    const live = messages.findIndex((m) => m.kind === 'live');
    expect(live).toBe(7);
    expect(messages.filter((m) => m.kind === 'live')).toHaveLength(1);
  });

  it('catches up while appends race with it: no gap, no duplicate, order kept', async () => {
    const store = createStore();
    await append(store, 'a/0', 5);
    const writers = Promise.all([0, 1, 2, 3].map((w) => append(store, `a/${w + 1}`, 25)));
    const messages = await collect(store, 'start', (all) => events(all).length === 105);
    await writers;
    const positions = events(messages).map((e) => e.position);
    const all: GlobalPosition[] = [];
    for await (const event of store.readAll()) all.push(event.position);
    expect(positions).toEqual(all);
    expect(new Set(positions).size).toBe(105);
  });

  it('starts after a kept position, or at the end with only new events', async () => {
    const store = createStore();
    await append(store, 's/1', 4);
    const page = await store.readAllPage({ limit: 2 });
    const kept = page[1]?.position;
    expect(kept).toBeDefined();
    const resumed = await collect(store, { after: kept as GlobalPosition }, (all) =>
      all.some((m) => m.kind === 'live'),
    );
    expect(events(resumed).map((e) => e.data)).toEqual([{ i: 2 }, { i: 3 }]);
    const fromEnd = await collect(
      store,
      'end',
      (all) => events(all).length === 1,
      {},
      async (message) => {
        if (message.kind === 'live') await append(store, 's/2', 1);
      },
    );
    expect(events(fromEnd).map((e) => e.stream)).toEqual(['s/2']);
  });

  it('filters by stream pattern and type, and reports checkpoints for skipped events', async () => {
    const store = createStore();
    await append(store, 'accounts/1', 2, 'opened');
    await append(store, 'orders/1', 7, 'placed');
    await append(store, 'accounts/2', 1, 'closed');
    await append(store, 'accounts/2/notes/1', 1, 'opened');
    const messages = await collect(store, 'start', (all) => all.some((m) => m.kind === 'live'), {
      streams: ['/accounts/*'],
      types: ['opened', 'closed'],
      pageEvents: 3,
    });
    expect(events(messages).map((e) => `${e.stream}:${e.type}`)).toEqual([
      'accounts/1:opened',
      'accounts/1:opened',
      'accounts/2:closed',
    ]);
    const checkpoints = messages.filter((m) => m.kind === 'checkpoint');
    expect(checkpoints.length).toBeGreaterThanOrEqual(2);
    const head = await store.headPosition();
    // The last thing before live is a checkpoint at the head: a resume skips everything scanned.
    expect(messages.at(-2)).toEqual({ kind: 'checkpoint', position: head });
    expect(messages.at(-1)).toEqual({ kind: 'live', position: head });
  });

  it('never reads more than one page ahead of a consumer that does not pull', async () => {
    const store = createStore();
    await append(store, 'x/1', 20);
    let reads = 0;
    const log = {
      readAllPage: (range?: Parameters<EventStore['readAllPage']>[0]) => {
        reads += 1;
        return store.readAllPage(range);
      },
      headPosition: () => store.headPosition(),
    };
    const controller = new AbortController();
    const iterator = subscribe({
      log,
      from: 'start',
      waiter: commitWaiter(store),
      signal: controller.signal,
      pageEvents: 4,
    })[Symbol.asyncIterator]();
    await iterator.next();
    expect(reads).toBe(1);
    for (let i = 0; i < 3; i += 1) await iterator.next();
    expect(reads).toBe(1);
    await iterator.next();
    expect(reads).toBe(2);
    controller.abort();
    await iterator.return?.(undefined);
  });

  it('ends when aborted while waiting live', async () => {
    const store = createStore();
    const controller = new AbortController();
    const seen: SubscriptionMessage[] = [];
    const run = (async () => {
      for await (const message of subscribe({
        log: store,
        from: 'start',
        waiter: commitWaiter(store),
        signal: controller.signal,
        pageEvents: 10,
      })) {
        seen.push(message);
        if (message.kind === 'live') controller.abort();
      }
    })();
    await run;
    expect(seen).toEqual([{ kind: 'live', position: null }]);
  });
});
