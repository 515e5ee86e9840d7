import { createInMemoryStorage } from '@aevon/core';
import { describeStorageConformance } from './index.js';

describeStorageConformance('memory', () =>
  Promise.resolve({ storage: createInMemoryStorage(), dispose: () => Promise.resolve() }),
);
