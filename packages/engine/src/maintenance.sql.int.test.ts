// Goal: verify and rebuild keep their contract where pre-aggregates and checkpoint are real tables and the swap is a
// real transaction (the shared contract in test/support/metering-maintenance.ts). SQLite opens a fresh in-memory
// database per test, PostgreSQL a fresh schema per test in one test database.
import { createPostgresMeteringStore, createPostgresStorage } from '@aevon/postgres';
import { createSqliteMeteringStore, createSqliteStorage } from '@aevon/sqlite';
import { afterAll, beforeAll, describe } from 'vitest';
import { describeMaintenance } from '../../../test/support/metering-maintenance.js';
import type { TestDatabase } from '../../../test/support/postgres.js';
import { createTestDatabase } from '../../../test/support/postgres.js';

describeMaintenance('SQLite', async () => {
  const storage = createSqliteStorage({ path: ':memory:' });
  return { storage, metering: createSqliteMeteringStore(storage), close: () => storage.close() };
});

describe('on PostgreSQL', () => {
  let database: TestDatabase;
  let schemas = 0;
  beforeAll(async () => {
    database = await createTestDatabase('aevon_maintenance');
  });
  afterAll(async () => {
    await database.drop();
  });
  describeMaintenance('PostgreSQL', async () => {
    schemas += 1;
    const storage = await createPostgresStorage({
      connectionString: database.url,
      schema: `run_${schemas}`,
    });
    const metering = await createPostgresMeteringStore(storage);
    return { storage, metering, close: () => storage.close() };
  });
});
