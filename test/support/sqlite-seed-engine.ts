// The metering engine the server tests run on: the seed's count rule over an event store on SQLite (a file, or
// `:memory:`), with the event log and the metering store on one connection and a manual clock.
import type { Clock, EventStore } from '@aevon/core';
import { createEventStore, createManualClock, createSeededRandom } from '@aevon/core';
import type { MeteringEngine, MeteringEngineOptions } from '@aevon/engine';
import { createMeteringEngine } from '@aevon/engine';
import type { SqliteStorage } from '@aevon/sqlite';
import { createSqliteMeteringStore, createSqliteStorage } from '@aevon/sqlite';

/** What {@link createSeedEngine} built. */
export interface SeedEngine {
  readonly storage: SqliteStorage;
  readonly store: EventStore;
  readonly engine: MeteringEngine;
}

/** Options of {@link createSeedEngine}. */
export interface SeedEngineOptions {
  /** The SQLite file. Default: `:memory:`. */
  readonly path?: string;
  /** Default: a manual clock at 2026-02-12T00:00:00Z, after the quick start's hour. */
  readonly clock?: Clock;
  /** Passed to the event store (the server passes setImmediate). */
  readonly scheduleGroupCommit?: (start: () => void) => void;
  readonly engine?: Partial<Pick<MeteringEngineOptions, 'subscriptionPollMs'>>;
}

/** Creates the seed's engine on SQLite; closing the engine closes the storage. */
export function createSeedEngine(options: SeedEngineOptions = {}): SeedEngine {
  const clock = options.clock ?? createManualClock(Date.parse('2026-02-12T00:00:00Z'));
  const storage = createSqliteStorage({ path: options.path ?? ':memory:' });
  const store = createEventStore({
    storage,
    clock,
    random: createSeededRandom(1),
    ...(options.scheduleGroupCommit === undefined
      ? {}
      : { scheduleGroupCommit: options.scheduleGroupCommit }),
  });
  const engine = createMeteringEngine({
    store,
    metering: createSqliteMeteringStore(storage),
    clock,
    rules: [{ name: 'count_api_requests', sourceEvent: 'api.request', operator: 'count' }],
    schemas: new Map(),
    cronIntervalMs: 60_000,
    ...options.engine,
  });
  return { storage, store, engine };
}
