// Goal: named subscriptions on the real engines, where positions have their engine's own form (PostgreSQL's
// "<transaction>-<sequence>"): a checkpoint set from a position, exact lag, forward-only ack, refusal of a position
// the log never produced, and a second node resuming from the stored checkpoint. Method: the event store and the
// named subscription store of each engine on one database; two stores stand for two nodes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type {
  EventStore,
  GlobalPosition,
  NamedSubscriptionStore,
  Storage,
  SubscriptionMessage,
} from '@aevon/core';
import { createEventStore, createSeededRandom, isAevonError } from '@aevon/core';
import { createManualClock } from '@aevon/core/testing';
import { createPostgresNamedSubscriptionStore, createPostgresStorage } from '@aevon/postgres';
import { createSqliteNamedSubscriptionStore, createSqliteStorage } from '@aevon/sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestDatabase } from '../../../test/support/postgres.js';
import { createTestDatabase } from '../../../test/support/postgres.js';
import type { NamedSubscriptionContext } from './named-subscriptions.js';
import { createNamedSubscriptions, openNamedSubscription } from './named-subscriptions.js';
import { createAppendWaiter } from './subscriptions.js';

const t0 = Date.UTC(2026, 1, 12);

interface Node {
  readonly context: NamedSubscriptionContext;
  close(): Promise<void>;
}

type OpenNode = (clock: ReturnType<typeof createManualClock>) => Promise<Node>;

function nodeOn(
  storage: Storage,
  subscriptions: NamedSubscriptionStore,
  clock: ReturnType<typeof createManualClock>,
): Node {
  const store: EventStore = createEventStore({ storage, clock, random: createSeededRandom(5) });
  return {
    context: { store, subscriptions, clock, waiter: createAppendWaiter(store.commits, 20) },
    close: async () => {
      await subscriptions.close();
      await store.close();
    },
  };
}

async function untilLive(messages: AsyncIterable<SubscriptionMessage>): Promise<GlobalPosition[]> {
  const positions: GlobalPosition[] = [];
  for await (const message of messages) {
    if (message.kind === 'event') positions.push(message.event.position);
    if (message.kind === 'live') break;
  }
  return positions;
}

async function checkNamedSubscriptions(openNode: OpenNode): Promise<void> {
  // Given: a, b at t0 and a, b at t0 + 10 s on one node; now t0 + 25 s
  const clock = createManualClock(t0);
  const first = await openNode(clock);
  const second = await openNode(clock);
  try {
    const { store } = first.context;
    await store.append('orders/1', [
      { type: 'a', data: {} },
      { type: 'b', data: {} },
    ]);
    clock.advance(10_000);
    await store.append('orders/2', [
      { type: 'a', data: {} },
      { type: 'b', data: {} },
    ]);
    clock.advance(15_000);
    const all = (await store.readAllPage()).map((event) => event.position);
    const named = createNamedSubscriptions(first.context);
    // When: created after the first event, filtered on type a
    await named.put('orders', { filter: { types: ['a'], streams: ['/orders/*'] }, from: all[0] });
    // Then
    expect(await named.status('orders')).toMatchObject({
      record: { position: all[0] },
      headPosition: all[3],
      lagEvents: 1,
      isLagExact: true,
      lagSeconds: 15,
    });
    // When: a position of this engine's form that the log never produced
    const unknown = (all[3] ?? '').replace(/\d$/, (digit) => String((Number(digit) + 5) % 10));
    await expect(named.ack('orders', { position: unknown })).rejects.toSatisfy((error: unknown) =>
      isAevonError(error, 'AEV_REQUEST_INVALID'),
    );
    // When: acknowledged on the first node, then an older position
    await named.ack('orders', { position: all[2] });
    await named.ack('orders', { position: all[1] });
    // Then: the second node sees the furthest checkpoint and resumes after it
    const signal = new AbortController();
    const resumed = await openNamedSubscription({
      ...second.context,
      name: 'orders',
      signal: signal.signal,
    });
    expect(resumed.record.position).toBe(all[2]);
    expect(await untilLive(resumed.messages)).toEqual([]);
    signal.abort();
    expect(await createNamedSubscriptions(second.context).status('orders')).toMatchObject({
      lagEvents: 0,
      lagSeconds: 0,
    });
  } finally {
    await second.close();
    await first.close();
  }
}

describe('named subscriptions on SQLite', () => {
  it('sets, measures, acknowledges and resumes from a second connection', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aevon-named-sql-'));
    try {
      await checkNamedSubscriptions(async (clock) => {
        const storage = createSqliteStorage({ path: join(dir, 'aevon.db') });
        return nodeOn(storage, createSqliteNamedSubscriptionStore(storage), clock);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('named subscriptions on PostgreSQL', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase('aevon_named_engine');
  });
  afterAll(async () => {
    await database.drop();
  });

  it('sets, measures, acknowledges and resumes from a second node', async () => {
    await checkNamedSubscriptions(async (clock) => {
      const storage = await createPostgresStorage({ connectionString: database.url, poolMax: 2 });
      return nodeOn(storage, await createPostgresNamedSubscriptionStore(storage), clock);
    });
  });
});
