// Goal: on PostgreSQL, a live subscription hears of appends made through ANOTHER connection pool (as another process
// would make them) by LISTEN/NOTIFY, long before its poll, and keeps doing so after its LISTEN connection is killed.
// Method: two event stores on one fresh database, the append listener, and a subscription whose poll interval is
// 60 s, far beyond the test's timeout: it can only pass if notifications (and the listener's reconnection) wake it.
import { randomUUID } from 'node:crypto';
import type { EventStore, SubscriptionMessage } from '@aevon/core';
import { createEventStore, createSeededRandom } from '@aevon/core';
import { createManualClock } from '@aevon/core/testing';
import type { PostgresAppendListener, PostgresStorage } from '@aevon/postgres';
import {
  createPostgresAppendListener,
  createPostgresStorage,
  listenApplicationName,
} from '@aevon/postgres';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestDatabase } from '../../../test/support/postgres.js';
import { createTestDatabase } from '../../../test/support/postgres.js';
import { createAppendWaiter, openSubscription } from './subscriptions.js';

const pollMs = 60_000;

function storeOn(storage: PostgresStorage): EventStore {
  return createEventStore({
    storage,
    clock: createManualClock(Date.UTC(2026, 1, 11)),
    random: createSeededRandom(Math.floor(Math.random() * 1e9)),
  });
}

describe('PostgreSQL LISTEN/NOTIFY wake-ups', () => {
  let database: TestDatabase;
  let storages: PostgresStorage[] = [];
  let listener: PostgresAppendListener | null = null;

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await listener?.close();
    for (const storage of storages) await storage.close();
    await database.drop();
  });

  it('wakes a subscription on another connection pool’s append, and again after its listener is killed', async () => {
    // Given a subscriber's store, a writer's store with its own pool, and a listener that reports each LISTEN
    const local = await createPostgresStorage({ connectionString: database.url });
    const remote = await createPostgresStorage({ connectionString: database.url, migrate: false });
    storages = [local, remote];
    const subscriberStore = storeOn(local);
    const writer = storeOn(remote);
    const waiting: Array<{ readonly count: number; readonly resolve: () => void }> = [];
    let listenCount = 0;
    const listenedTimes = (count: number) =>
      new Promise<void>((resolve) => {
        if (listenCount >= count) resolve();
        else waiting.push({ count, resolve });
      });
    listener = createPostgresAppendListener({
      connectionString: database.url,
      reconnectDelayMsMin: 20,
      onListening: () => {
        listenCount += 1;
        for (const waiter of waiting) if (listenCount >= waiter.count) waiter.resolve();
      },
    });
    await listenedTimes(1);
    const controller = new AbortController();
    const messages = await openSubscription(
      subscriberStore,
      createAppendWaiter(subscriberStore.commits, pollMs, [listener]),
      { from: 'end' },
      controller.signal,
    );
    const iterator = messages[Symbol.asyncIterator]();
    const nextEventId = async (): Promise<string> => {
      for (;;) {
        const step: IteratorResult<SubscriptionMessage> = await iterator.next();
        if (step.done === true) throw new Error('the subscription ended');
        if (step.value.kind === 'event') return step.value.event.id;
      }
    };
    expect((await iterator.next()).value).toMatchObject({ kind: 'live' });

    // When another pool appends, the subscription gets the event without waiting for its poll
    const first = randomUUID();
    await writer.append('remote/1', [{ id: first, type: 'thing', data: {} }]);
    expect(await nextEventId()).toBe(first);

    // When the listener's connection is killed and the writer appends while it may be away
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    try {
      const killed = await admin.query<{ killed: boolean }>(
        `SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity
         WHERE application_name = $1 AND datname = current_database()`,
        [listenApplicationName],
      );
      expect(killed.rows).toEqual([{ killed: true }]);
    } finally {
      await admin.end();
    }
    const second = randomUUID();
    await writer.append('remote/1', [{ id: second, type: 'thing', data: {} }]);
    // Then the listener reconnects, the subscription catches up, and later appends wake it again
    expect(await nextEventId()).toBe(second);
    await listenedTimes(2);
    const third = randomUUID();
    await writer.append('remote/2', [{ id: third, type: 'thing', data: {} }]);
    expect(await nextEventId()).toBe(third);
    controller.abort();
    await iterator.return?.();
  }, 20_000);
});
