import { describeStorageConformance } from '@aevon/conformance';
import { freshSchemas } from '../../../test/support/postgres.js';
import { createPostgresStorage } from './postgres-storage.js';

// One database for the file and a fresh schema per test: creating a schema is far cheaper than a database.
const nextSchema = freshSchemas('conf');

describeStorageConformance('postgres', async () => {
  const { url, schema, drop } = await nextSchema();
  const storage = await createPostgresStorage({ connectionString: url, schema, poolMax: 4 });
  return { storage, dispose: drop };
});
