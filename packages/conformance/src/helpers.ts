import type { EventStore, Limits, PendingEvent, RecordedEvent, Storage } from '@aevon/core';
import { createEventStore, createManualClock, createSeededRandom, isAevonError } from '@aevon/core';
import type { ErrorCode } from '@aevon/core';
import type { StorageFactory, StorageFixture } from './storage-factory.js';

/** An event store on a fresh fixture, closed and disposed by {@link withStore}. */
export interface StoreUnderTest {
  readonly store: EventStore;
  readonly storage: Storage;
}

/** Runs `body` against a fresh store and always closes and disposes it. */
export async function withStore(
  factory: StorageFactory,
  body: (subject: StoreUnderTest) => Promise<void>,
  limits?: Partial<Limits>,
): Promise<void> {
  const fixture: StorageFixture = await factory();
  const store = createEventStore({
    storage: fixture.storage,
    clock: createManualClock(Date.UTC(2026, 1, 11, 10, 30)),
    random: createSeededRandom(42),
    ...(limits === undefined ? {} : { limits }),
  });
  try {
    await body({ store, storage: fixture.storage });
  } finally {
    await store.close().catch(() => undefined);
    await fixture.dispose();
  }
}

/** Runs `body` against a fresh fixture of a store contract and always disposes it. */
export async function withFixture<F extends { dispose(): Promise<void> }>(
  factory: () => Promise<F>,
  body: (fixture: F) => Promise<void>,
): Promise<void> {
  const fixture = await factory();
  try {
    await body(fixture);
  } finally {
    await fixture.dispose();
  }
}

/** `n` simple pending events with ids `${prefix}-0` ... */
export function events(prefix: string, n: number, type = 'thing.happened'): PendingEvent[] {
  return Array.from({ length: n }, (_, i) => ({ id: `${prefix}-${i}`, type, data: { i } }));
}

/** Collects an async iterable. */
export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

/** Awaits a promise that must reject with an AevonError of `code`, and returns the error. */
export async function rejection<C extends ErrorCode>(promise: Promise<unknown>, code: C) {
  try {
    await promise;
  } catch (error) {
    if (isAevonError(error, code)) return error;
    throw new Error(`expected ${code}, got ${String(error)}`, { cause: error });
  }
  throw new Error(`expected ${code}, but it resolved`);
}

/** Every event in the log, in global order. */
export async function everything(store: EventStore): Promise<RecordedEvent[]> {
  return collect(store.readAll());
}
