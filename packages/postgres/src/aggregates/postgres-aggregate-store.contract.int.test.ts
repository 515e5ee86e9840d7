import { aggregateStoreContract } from '../../../../test/support/aggregate-store-contract.js';
import { freshSchemas } from '../../../../test/support/postgres.js';
import { dropAggregateSchemaAndRole } from '../../../../test/support/postgres-aggregates.js';
import { createPostgresStorage } from '../postgres-storage.js';
import { createPostgresAggregateStore } from './postgres-aggregate-store.js';

// One database for the file and a fresh schema (with its own aggregate schema) per test.
const nextSchema = freshSchemas('aggc');

// The read watermark is cluster-wide: another test file's open transaction can hold this file's fresh commits back.
// Waiting for them only costs time when it happens, and keeps "read what was just written" exact under a loaded run.
const readVisibilityWaitMs = 30_000;

aggregateStoreContract('postgres', async () => {
  const { url, schema, drop } = await nextSchema();
  const storage = await createPostgresStorage({
    connectionString: url,
    schema,
    poolMax: 4,
    readVisibilityWaitMs,
  });
  const store = await createPostgresAggregateStore(storage, { readVisibilityWaitMs });
  return {
    store,
    storage,
    dispose: async () => {
      await storage.close();
      await dropAggregateSchemaAndRole(url, schema);
      await drop();
    },
  };
});
