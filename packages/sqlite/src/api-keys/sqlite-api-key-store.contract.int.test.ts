import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SqliteStorage } from '@aevon/sqlite';
import { describeApiKeyStoreContract } from '@aevon/conformance';
import { createSqliteApiKeyStore, createSqliteStorage } from '@aevon/sqlite';

// A database file per test; the second store opens its own connection to the file, as `aevon keys` does next to a
// running server.
describeApiKeyStoreContract('sqlite (file)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'aevon-sqlite-keys-'));
  const path = join(dir, 'aevon.db');
  const first = createSqliteStorage({ path });
  const storages: SqliteStorage[] = [first];
  return {
    store: createSqliteApiKeyStore(first),
    openAnother: async () => {
      const storage = createSqliteStorage({ path });
      storages.push(storage);
      return createSqliteApiKeyStore(storage);
    },
    dispose: async () => {
      for (const storage of storages) await storage.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
