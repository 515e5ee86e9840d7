// Goal: the read path (pre-aggregates + raw tail) always equals a direct recomputation from the raw events, whatever
// the interleaving of ingests, late events and sweeps. Method: the shared state-model property
// (test/support/metering-state-model.ts) on the in-memory metering store, with tiny tail pages so paging is crossed.
import { createInMemoryMeteringStore, createInMemoryStorage } from '@aevon/core';
import { describe, it } from 'vitest';
import { checkStateModel } from '../../../test/support/metering-state-model.js';

describe('metering state model on the in-memory store', () => {
  it('answers every query as a direct recomputation from the raw events, whatever the sweep schedule', async () => {
    await checkStateModel(async () => {
      const storage = createInMemoryStorage();
      const metering = createInMemoryMeteringStore(storage, { tailPageEvents: 3 });
      return { storage, metering, close: () => storage.close() };
    }, 40);
  });
});
