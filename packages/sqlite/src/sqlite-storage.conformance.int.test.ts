import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeStorageConformance } from '@aevon/conformance';
import { createSqliteStorage } from '@aevon/sqlite';

// Each test gets its own database file in its own temporary folder, removed after the test closed the storage.
describeStorageConformance('sqlite (better-sqlite3, file)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aevon-sqlite-conformance-'));
  const storage = createSqliteStorage({ path: join(dir, 'aevon.db') });
  return Promise.resolve({
    storage,
    dispose: async () => {
      await storage.close();
      rmSync(dir, { recursive: true, force: true });
    },
  });
});
