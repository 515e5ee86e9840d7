import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteAggregateStore, createSqliteStorage } from '@aevon/sqlite';
import { aggregateStoreContract } from '../../../../test/support/aggregate-store-contract.js';

// A database file per test: queries then run on their own read-only connection in the query process, as in
// production (a `:memory:` database runs them in process; sqlite-aggregate-store.int.test.ts covers that).
aggregateStoreContract('sqlite (file)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'aevon-sqlite-agg-'));
  const storage = createSqliteStorage({ path: join(dir, 'aevon.db'), synchronous: 'normal' });
  const store = createSqliteAggregateStore(storage);
  return {
    store,
    storage,
    dispose: async () => {
      await store.close();
      await storage.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
