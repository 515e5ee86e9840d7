import { describe } from 'vitest';
import { describeAppendContract } from './append.contract.js';
import { describeModelContract } from './model.contract.js';
import { describePayloadContract } from './payload.contract.js';
import { describeReadContract } from './read.contract.js';
import type { StorageFactory } from './storage-factory.js';

export type { StorageFactory, StorageFixture } from './storage-factory.js';
export { collect, events, rejection, withStore } from './helpers.js';

/** Options of {@link describeStorageConformance}. */
export interface ConformanceOptions {
  /** Runs of the model-based property test (default 25; slower engines may lower it). */
  readonly modelRuns?: number;
}

/**
 * The behaviour every {@link Storage} must show, as one vitest suite: optimistic concurrency for every expectation,
 * idempotency, multi-stream atomicity, group-commit isolation, every range/direction/limit combination, global
 * order, unicode and large payloads, limits, lifecycle, and a model-based property test against the in-memory model.
 */
export function describeStorageConformance(
  name: string,
  factory: StorageFactory,
  options: ConformanceOptions = {},
): void {
  describe(`storage conformance: ${name}`, () => {
    describeAppendContract(factory);
    describeReadContract(factory);
    describePayloadContract(factory);
    describeModelContract(
      factory,
      options.modelRuns === undefined ? {} : { numRuns: options.modelRuns },
    );
  });
}
export type { ApiKeyStoreFactory, ApiKeyStoreFixture } from './api-key-store.contract.js';
export { describeApiKeyStoreContract } from './api-key-store.contract.js';
export type {
  NamedSubscriptionStoreFactory,
  NamedSubscriptionStoreFixture,
} from './named-subscription-store.contract.js';
export { describeNamedSubscriptionStoreContract } from './named-subscription-store.contract.js';
