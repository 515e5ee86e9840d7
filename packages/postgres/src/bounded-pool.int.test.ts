// Goal: the pool a PostgreSQL storage creates never queues without bound and never waits for ever: one caller beyond
// `poolWaitersMax` is turned away at once with AEV_OVERLOADED, a wait longer than `connectTimeoutMs` fails with
// AEV_STORAGE_UNAVAILABLE, and an unreachable server fails with AEV_STORAGE_UNAVAILABLE. Method: a real storage on
// the test server with a pool of one connection, which the test holds itself.
import { isAevonError } from '@aevon/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestDatabase } from '../../../test/support/postgres.js';
import { createTestDatabase } from '../../../test/support/postgres.js';
import type { PostgresStorage } from './postgres-storage.js';
import { createPostgresStorage } from './postgres-storage.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase('aevon_pool');
});
afterAll(async () => {
  await database.drop();
});

const headRange = {
  start: null,
  startExclusive: false,
  end: null,
  endExclusive: false,
  limit: 1,
  direction: 'forward',
} as const;

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (isAevonError(error)) return error.code;
    throw error;
  }
  return 'resolved';
}

describe('the pool of a PostgreSQL storage', () => {
  let storage: PostgresStorage;
  afterAll(async () => {
    await storage.close();
  });

  it('turns a caller beyond poolWaitersMax away at once, and times a long wait out', async () => {
    // Given a pool of one connection, held by the test, and room for one waiter
    storage = await createPostgresStorage({
      connectionString: database.url,
      poolMax: 1,
      poolWaitersMax: 1,
      connectTimeoutMs: 500,
    });
    const held = await storage.pool.connect();
    try {
      // When two reads ask for a connection
      const waiting = codeOf(storage.readAll(headRange));
      const beyond = codeOf(storage.readAll(headRange));

      // Then the second is refused as overload, and the first gives up after its connect timeout
      expect(await beyond).toBe('AEV_OVERLOADED');
      expect(await waiting).toBe('AEV_STORAGE_UNAVAILABLE');
    } finally {
      held.release();
    }

    // And with the connection free again, a read succeeds
    expect(await storage.readAll(headRange)).toEqual([]);
  });

  it('fails with AEV_STORAGE_UNAVAILABLE when the server refuses connections', async () => {
    // Given a DSN on a port where nothing listens (port 1 is privileged and unused)
    const url = new URL(database.url);
    url.port = '1';

    // When a storage is created on it, Then it fails as unavailable rather than hanging
    expect(
      await codeOf(
        createPostgresStorage({ connectionString: url.toString(), connectTimeoutMs: 2000 }),
      ),
    ).toBe('AEV_STORAGE_UNAVAILABLE');
  });
});
