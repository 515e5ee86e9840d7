import type { Storage } from '@aevon/core';

/** A fresh, empty storage for one test, and how to remove what it left behind (files, databases). */
export interface StorageFixture {
  readonly storage: Storage;
  /** Called after the test has closed the storage. */
  dispose(): Promise<void>;
}

/** Creates a fresh, empty storage per test. */
export type StorageFactory = () => Promise<StorageFixture>;
