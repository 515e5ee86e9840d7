import { createInMemoryApiKeyStore } from '@aevon/core';
import { describeApiKeyStoreContract } from './index.js';

// One in-memory store is one "database": the second store of the fixture is the same object.
describeApiKeyStoreContract('memory', async () => {
  const store = createInMemoryApiKeyStore();
  return { store, openAnother: async () => store, dispose: () => store.close() };
});
