// The metering engine the server tests run on: the seed's count rule over an event store on SQLite (a file, or
// `:memory:`), with the event log, the metering store and the named subscriptions on one connection and a manual
// clock; and a listening server on it, for tests that need a real socket (subscriptions).
import type { Clock, EventStore } from '@aevon/core';
import { createEventStore, createManualClock, createSeededRandom } from '@aevon/core';
import type { MeteringEngine, MeteringEngineOptions } from '@aevon/engine';
import { createMeteringEngine } from '@aevon/engine';
import type { SqliteStorage } from '@aevon/sqlite';
import {
  createSqliteMeteringStore,
  createSqliteNamedSubscriptionStore,
  createSqliteStorage,
} from '@aevon/sqlite';
import { createServer } from '@aevon/server';
import type { FastifyInstance } from 'fastify';

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
    namedSubscriptions: createSqliteNamedSubscriptionStore(storage),
    clock,
    rules: [{ name: 'count_api_requests', sourceEvent: 'api.request', operator: 'count' }],
    schemas: new Map(),
    cronIntervalMs: 60_000,
    ...options.engine,
  });
  return { storage, store, engine };
}

/** A server listening on 127.0.0.1 over a seed engine. */
export interface ListeningServer {
  readonly app: FastifyInstance;
  readonly engine: MeteringEngine;
  readonly url: string;
}

/** Creates the seed engine (group commit on setImmediate, as the CLI does) and a server listening on a free port. */
export async function listenOnSeedEngine(options: SeedEngineOptions): Promise<ListeningServer> {
  const { engine } = createSeedEngine({
    scheduleGroupCommit: (begin) => setImmediate(begin),
    ...options,
  });
  const app = createServer({ engine });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, engine, url };
}

/**
 * Closes the server, then the engine. fetch's pool may hold a connection it opened but never sent a request on,
 * which Node does not count as idle and keeps until its headers timeout: once every stream had time to end on its
 * own, what is left is dropped (a stream still open then would fail its reader, so this cannot hide a stream that
 * outlives the shutdown).
 */
export async function stopListening(server: ListeningServer): Promise<void> {
  const closing = server.app.close();
  await Promise.race([closing, new Promise((resolve) => setTimeout(resolve, 500))]);
  server.app.server.closeAllConnections();
  await closing;
  await server.engine.close();
}
