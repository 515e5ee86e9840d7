import { describeStorageConformance } from '@aevon/conformance';
import pg from 'pg';
import { afterAll } from 'vitest';
import type { TestDatabase } from '../../../test/support/postgres.js';
import { createTestDatabase } from '../../../test/support/postgres.js';
import { createPostgresStorage } from './postgres-storage.js';

// One database for the file and a fresh schema per test: creating a schema is far cheaper than a database.
let database: Promise<TestDatabase> | null = null;
let schemas = 0;

afterAll(async () => {
  if (database !== null) await (await database).drop();
});

describeStorageConformance('postgres', async () => {
  database ??= createTestDatabase('aevon_conf');
  const { url } = await database;
  schemas += 1;
  const schema = `conf_${schemas}`;
  const storage = await createPostgresStorage({ connectionString: url, schema, poolMax: 4 });
  return {
    storage,
    dispose: async () => {
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
