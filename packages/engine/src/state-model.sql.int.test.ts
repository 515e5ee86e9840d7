// Goal: the state-model property of the in-memory store holds on the SQL metering stores too, where pre-aggregates,
// checkpoints and the raw tail are real tables and the sweep is a real transaction. Method: the shared property
// (test/support/metering-state-model.ts); SQLite opens a fresh in-memory database per run, PostgreSQL a fresh schema
// per run in one test database.
import { createPostgresMeteringStore, createPostgresStorage } from '@aevon/postgres';
import { createSqliteMeteringStore, createSqliteStorage } from '@aevon/sqlite';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { checkStateModel } from '../../../test/support/metering-state-model.js';
import type { TestDatabase } from '../../../test/support/postgres.js';
import { createTestDatabase } from '../../../test/support/postgres.js';

describe('metering state model on SQLite', () => {
  it('answers every query as a direct recomputation from the raw events, whatever the sweep schedule', async () => {
    await checkStateModel(async () => {
      const storage = createSqliteStorage({ path: ':memory:' });
      return {
        storage,
        metering: createSqliteMeteringStore(storage),
        close: () => storage.close(),
      };
    }, 25);
  });
});

describe('metering state model on PostgreSQL', () => {
  let database: TestDatabase;
  let runs = 0;
  beforeAll(async () => {
    database = await createTestDatabase('aevon_state_model');
  });
  afterAll(async () => {
    await database.drop();
  });

  it('answers every query as a direct recomputation from the raw events, whatever the sweep schedule', async () => {
    await checkStateModel(async () => {
      runs += 1;
      const storage = await createPostgresStorage({
        connectionString: database.url,
        schema: `run_${runs}`,
      });
      const metering = await createPostgresMeteringStore(storage);
      return { storage, metering, close: () => storage.close() };
    }, 15);
  }, 120_000);
});
