import { createInMemoryNamedSubscriptionStore } from '@aevon/core';
import { describeNamedSubscriptionStoreContract } from './index.js';

// One in-memory store is one "database": the second store of the fixture is the same object.
describeNamedSubscriptionStoreContract('memory', async () => {
  const store = createInMemoryNamedSubscriptionStore();
  return { store, openAnother: async () => store, dispose: () => store.close() };
});
