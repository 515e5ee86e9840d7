import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SqliteStorage } from '@aevon/sqlite';
import { describeNamedSubscriptionStoreContract } from '@aevon/conformance';
import { createSqliteNamedSubscriptionStore, createSqliteStorage } from '@aevon/sqlite';

// A database file per test; the second store opens its own connection to the file, as a second process would.
describeNamedSubscriptionStoreContract('sqlite (file)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'aevon-sqlite-named-'));
  const path = join(dir, 'aevon.db');
  const first = createSqliteStorage({ path });
  const storages: SqliteStorage[] = [first];
  return {
    store: createSqliteNamedSubscriptionStore(first),
    openAnother: async () => {
      const storage = createSqliteStorage({ path });
      storages.push(storage);
      return createSqliteNamedSubscriptionStore(storage);
    },
    dispose: async () => {
      for (const storage of storages) await storage.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
