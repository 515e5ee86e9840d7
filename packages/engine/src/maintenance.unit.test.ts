// Goal: verify and rebuild keep their contract on the in-memory metering store (the shared contract in
// test/support/metering-maintenance.ts; the SQL stores run it in maintenance.sql.int.test.ts).
import { createInMemoryMeteringStore, createInMemoryStorage } from '@aevon/core';
import { describeMaintenance } from '../../../test/support/metering-maintenance.js';

describeMaintenance('the in-memory store', async () => {
  const storage = createInMemoryStorage();
  return {
    storage,
    metering: createInMemoryMeteringStore(storage),
    close: () => storage.close(),
  };
});
