// Goal: the catch-up→live switch holds on real engines: no loss, no duplicate, log order kept, whether the appends
// come from this process (woken by its commit signal) or from another connection (found by polling), and on
// PostgreSQL when transactions commit out of transaction-id order (the adversarial writer case, where the read
// watermark must hold events back until every earlier transaction is done).
import { randomUUID } from 'node:crypto';
import type { EventStore, GlobalPosition, Storage, SubscriptionMessage } from '@aevon/core';
import { createEventStore, createSeededRandom } from '@aevon/core';
import { createManualClock } from '@aevon/core/testing';
import { createPostgresStorage } from '@aevon/postgres';
import { createSqliteStorage } from '@aevon/sqlite';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestDatabase } from '../../../test/support/postgres.js';
import { createTestDatabase } from '../../../test/support/postgres.js';
import { createAppendWaiter, openSubscription } from './subscriptions.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function storeOn(storage: Storage): EventStore {
  return createEventStore({
    storage,
    clock: createManualClock(Date.UTC(2026, 1, 11)),
    random: createSeededRandom(Math.floor(Math.random() * 1e9)),
  });
}

async function appendMany(store: EventStore, stream: string, count: number, pauseMs = 0) {
  const ids: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const id = randomUUID();
    await store.append(stream, [{ id, type: 'thing', data: { i } }]);
    ids.push(id);
    if (pauseMs > 0) await sleep(pauseMs);
  }
  return ids;
}

/** Reads the subscription until `expected` events arrived (or fails after a deadline), then aborts it. */
async function receive(
  messages: AsyncIterable<SubscriptionMessage>,
  controller: AbortController,
  expected: () => number | null,
): Promise<{ ids: string[]; positions: GlobalPosition[]; sawLive: boolean }> {
  const ids: string[] = [];
  const positions: GlobalPosition[] = [];
  let sawLive = false;
  const deadline = setTimeout(() => controller.abort(), 60_000);
  try {
    for await (const message of messages) {
      if (message.kind === 'live') sawLive = true;
      if (message.kind === 'event') {
        ids.push(message.event.id);
        positions.push(message.event.position);
      }
      const total = expected();
      if (total !== null && ids.length >= total) break;
    }
  } finally {
    clearTimeout(deadline);
    controller.abort();
  }
  return { ids, positions, sawLive };
}

async function readAllIds(store: EventStore): Promise<string[]> {
  const ids: string[] = [];
  for await (const event of store.readAll()) ids.push(event.id);
  return ids;
}

/** In-process writers and a writer on another connection race with a subscription started mid-way. */
async function checkSwitchUnderConcurrentAppends(local: EventStore, remote: EventStore) {
  await appendMany(local, 'before/1', 40);
  const controller = new AbortController();
  const messages = await openSubscription(
    local,
    createAppendWaiter(local.commits, 20),
    { from: 'start' },
    controller.signal,
  );
  let total: number | null = null;
  const writers = Promise.all([
    appendMany(local, 'live/1', 60),
    appendMany(local, 'live/2', 60),
    appendMany(remote, 'remote/1', 30, 2),
  ]).then(() => {
    total = 40 + 150;
  });
  const received = await receive(messages, controller, () => total);
  await writers;
  const all = await readAllIds(local);
  expect(all).toHaveLength(190);
  expect(received.ids).toEqual(all);
  expect(new Set(received.positions).size).toBe(190);
  expect(received.sawLive).toBe(true);
}

describe('subscriptions on SQLite', () => {
  it('switch from catch-up to live under concurrent appends, local and from another connection', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aevon-sub-'));
    const path = join(dir, 'log.db');
    const local = storeOn(createSqliteStorage({ path }));
    const remote = storeOn(createSqliteStorage({ path }));
    try {
      await checkSwitchUnderConcurrentAppends(local, remote);
    } finally {
      await remote.close();
      await local.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});

describe('subscriptions on PostgreSQL', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase('aevon_subscriptions');
  });
  afterAll(async () => {
    await database.drop();
  });

  it('switch from catch-up to live under concurrent appends, local and from another connection', async () => {
    const local = storeOn(
      await createPostgresStorage({ connectionString: database.url, schema: 's1' }),
    );
    const remote = storeOn(
      await createPostgresStorage({ connectionString: database.url, schema: 's1' }),
    );
    try {
      await checkSwitchUnderConcurrentAppends(local, remote);
    } finally {
      await remote.close();
      await local.close();
    }
  }, 90_000);

  it('refuses to start after a position of the SQLite form, before any read is streamed', async () => {
    const store = storeOn(
      await createPostgresStorage({ connectionString: database.url, schema: 's3' }),
    );
    try {
      const opening = openSubscription(
        store,
        createAppendWaiter(store.commits, 20),
        { from: '00000000000000000001' },
        new AbortController().signal,
      );
      await expect(opening).rejects.toMatchObject({ code: 'AEV_REQUEST_INVALID' });
    } finally {
      await store.close();
    }
  });

  it('delivers every committed event once, in final log order, when transactions commit out of xid order', async () => {
    const schema = 's2';
    const local = storeOn(
      await createPostgresStorage({
        connectionString: database.url,
        schema,
        readVisibilityWaitMs: 0,
      }),
    );
    const random = createSeededRandom(20261126);
    const below = (n: number) => random.nextUint32() % n;
    const controller = new AbortController();
    const messages = await openSubscription(
      local,
      createAppendWaiter(local.commits, 5),
      { from: 'start' },
      controller.signal,
    );
    let total: number | null = null;
    const committed: string[] = [];
    // Each writer takes its transaction id early, appends with plain SQL, and holds the transaction open for a
    // random time, so that later transaction ids commit first.
    const writer = async (index: number) => {
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      try {
        for (let t = 0; t < 8; t += 1) {
          const id = `w${index}-t${t}`;
          await client.query('BEGIN');
          await client.query('SELECT pg_current_xact_id()');
          await sleep(below(10));
          await client.query(
            `INSERT INTO ${schema}.events (id, stream, revision, type, data, metadata, schema_version,
               occurred_at, recorded_at)
             VALUES ($1, $2, $3, 'thing', '{}', '{}', 0, '2026-02-11T10:30:00.000Z',
               '2026-02-11T10:30:00.000Z')`,
            [id, `adv/${index}`, t],
          );
          await sleep(below(30));
          await client.query('COMMIT');
          committed.push(id);
        }
      } finally {
        await client.end();
      }
    };
    const writers = Promise.all(Array.from({ length: 8 }, (_, i) => writer(i))).then(() => {
      total = committed.length;
    });
    const received = await receive(messages, controller, () => total);
    await writers;
    await local.close().catch(() => undefined);
    const check = storeOn(await createPostgresStorage({ connectionString: database.url, schema }));
    try {
      const all = await readAllIds(check);
      expect(all).toHaveLength(64);
      expect(received.ids).toEqual(all);
    } finally {
      await check.close();
    }
  }, 90_000);
});
