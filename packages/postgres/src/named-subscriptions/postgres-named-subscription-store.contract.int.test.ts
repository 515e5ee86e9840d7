import { describeNamedSubscriptionStoreContract } from '@aevon/conformance';
import pg from 'pg';
import { afterAll } from 'vitest';
import type { TestDatabase } from '../../../../test/support/postgres.js';
import { createTestDatabase } from '../../../../test/support/postgres.js';
import type { PostgresStorage } from '../postgres-storage.js';
import { createPostgresStorage } from '../postgres-storage.js';
import { createPostgresNamedSubscriptionStore } from './postgres-named-subscription-store.js';

// One database for the file and a fresh schema per test; the second store has its own pool, as another node would.
let database: Promise<TestDatabase> | null = null;
let schemas = 0;

afterAll(async () => {
  if (database !== null) await (await database).drop();
});

describeNamedSubscriptionStoreContract('postgres', async () => {
  database ??= createTestDatabase('aevon_named_subs');
  const { url } = await database;
  schemas += 1;
  const schema = `named_${schemas}`;
  const open = () => createPostgresStorage({ connectionString: url, schema, poolMax: 2 });
  const first = await open();
  const storages: PostgresStorage[] = [first];
  return {
    store: await createPostgresNamedSubscriptionStore(first),
    openAnother: async () => {
      const storage = await open();
      storages.push(storage);
      return createPostgresNamedSubscriptionStore(storage);
    },
    dispose: async () => {
      for (const storage of storages) await storage.close();
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      try {
        await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      } finally {
        await admin.end();
      }
    },
  };
});
