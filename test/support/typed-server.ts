// The typed-event server the HTTP tests of issue 6 run on, on SQLite (a file) or PostgreSQL (a fresh schema): the
// event store, the metering engine, the aggregate store and the definitions engine on one database, wired as
// `aevon serve` wires them (typed writes wake subscriptions), and a Fastify server on them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApiKeyStore, Clock, EventStore, NamedSubscriptionStore, Storage } from '@aevon/core';
import { createEventStore, createManualClock, createSeededRandom } from '@aevon/core';
import type { AggregateStore } from '@aevon/ddl';
import type { DefinitionsEngine, MeteringEngine } from '@aevon/engine';
import { createDefinitionsEngine, createMeteringEngine } from '@aevon/engine';
import * as postgres from '@aevon/postgres';
import type { ServerOptions } from '@aevon/server';
import { createServer } from '@aevon/server';
import {
  createSqliteAggregateStore,
  createSqliteApiKeyStore,
  createSqliteMeteringStore,
  createSqliteNamedSubscriptionStore,
  createSqliteStorage,
} from '@aevon/sqlite';
import type { FastifyInstance } from 'fastify';
import { freshSchemas } from './postgres.js';

/** One database's stores, before any engine is built on them. */
interface Stores {
  readonly storage: Storage;
  readonly metering: Parameters<typeof createMeteringEngine>[0]['metering'];
  readonly namedSubscriptions: NamedSubscriptionStore;
  readonly aggregates: AggregateStore;
  readonly apiKeys: ApiKeyStore;
  /** Closes what the stores hold besides `storage` (SQLite's query process). */
  readonly closeAggregates: () => Promise<void>;
  /** Removes the database (the temporary folder, or the schema). */
  readonly drop: () => Promise<void>;
}

/** A typed server on one database. */
export interface TypedServer {
  readonly app: FastifyInstance;
  readonly definitions: DefinitionsEngine;
  readonly engine: MeteringEngine;
  readonly store: EventStore;
  /** The database's API keys (checked only with {@link TypedServerOptions.isAuthRequired}). */
  readonly apiKeys: ApiKeyStore;
  readonly clock: Clock & { advance(ms: number): void };
  /** Closes the server, the engines and the database (which stays, for {@link TypedTarget.reopen}). */
  readonly close: () => Promise<void>;
}

/** Options of a {@link TypedServer}. */
export interface TypedServerOptions {
  readonly server?: Partial<ServerOptions>;
  /**
   * How often live subscriptions and change feeds read without a wake-up. Default: 20 ms; a test that checks that a
   * write wakes them sets it far above its own time limit.
   */
  readonly pollMs?: number;
  /** Require an API key on every route but the probes (keys from {@link TypedServer.apiKeys}). Default: off. */
  readonly isAuthRequired?: boolean;
}

/** An engine to run the typed tests on. */
export interface TypedTarget {
  readonly name: 'sqlite' | 'postgres';
  /** A server on a new, empty database. */
  readonly open: (options?: TypedServerOptions) => Promise<TypedServer>;
  /** Another server on the last database `open` made (a restart, or a second node). */
  readonly reopen: (options?: TypedServerOptions) => Promise<TypedServer>;
  /** Removes every database this target made. */
  readonly dispose: () => Promise<void>;
}

/** The SQLite target: a database file in a temporary folder. */
export function sqliteTarget(): TypedTarget {
  const dirs: string[] = [];
  const openStores = (dir: string): Stores => {
    const storage = createSqliteStorage({ path: join(dir, 'aevon.db') });
    const aggregates = createSqliteAggregateStore(storage);
    return {
      storage,
      metering: createSqliteMeteringStore(storage),
      namedSubscriptions: createSqliteNamedSubscriptionStore(storage),
      aggregates,
      apiKeys: createSqliteApiKeyStore(storage),
      closeAggregates: () => aggregates.close(),
      drop: async () => undefined,
    };
  };
  return targetOf('sqlite', {
    fresh: async () => {
      const dir = mkdtempSync(join(tmpdir(), 'aevon-typed-'));
      dirs.push(dir);
      return () => Promise.resolve(openStores(dir));
    },
    dispose: async () => {
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    },
  });
}

/** The PostgreSQL target: a fresh schema of the test file's database for each `open`. */
export function postgresTarget(prefix: string): TypedTarget {
  const next = freshSchemas(prefix);
  const drops: (() => Promise<void>)[] = [];
  return targetOf('postgres', {
    fresh: async () => {
      const { url, schema, drop } = await next();
      drops.push(drop);
      return async () => {
        const storage = await postgres.createPostgresStorage({
          connectionString: url,
          schema,
          migrate: true,
          poolMax: 4,
          // The watermark is cluster-wide: wait out other test files' open transactions rather than read short.
          readVisibilityWaitMs: 30_000,
        });
        return {
          storage,
          metering: await postgres.createPostgresMeteringStore(storage),
          namedSubscriptions: await postgres.createPostgresNamedSubscriptionStore(storage),
          aggregates: await postgres.createPostgresAggregateStore(storage, {
            readVisibilityWaitMs: 30_000,
          }),
          apiKeys: await postgres.createPostgresApiKeyStore(storage),
          closeAggregates: async () => undefined,
          drop,
        };
      };
    },
    dispose: async () => {
      for (const drop of drops) await drop();
    },
  });
}

function targetOf(
  name: 'sqlite' | 'postgres',
  parts: {
    readonly fresh: () => Promise<() => Promise<Stores>>;
    readonly dispose: () => Promise<void>;
  },
): TypedTarget {
  let last: (() => Promise<Stores>) | null = null;
  const serve = async (
    stores: () => Promise<Stores>,
    options: TypedServerOptions,
  ): Promise<TypedServer> => serverOn(await stores(), options);
  return {
    name,
    open: async (options = {}) => {
      last = await parts.fresh();
      return serve(last, options);
    },
    reopen: async (options = {}) => {
      if (last === null) throw new Error('reopen before open');
      return serve(last, options);
    },
    dispose: parts.dispose,
  };
}

async function serverOn(stores: Stores, options: TypedServerOptions): Promise<TypedServer> {
  const pollMs = options.pollMs ?? 20;
  const clock = createManualClock(Date.parse('2026-03-01T12:00:00Z'));
  const random = createSeededRandom(Math.floor(Math.random() * 2 ** 32));
  const store = createEventStore({ storage: stores.storage, clock, random });
  const definitions = await createDefinitionsEngine({
    store: stores.aggregates,
    log: store,
    clock,
    random,
    pollMs,
    sqlTimeoutMs: 2_000,
    sqlRowsMax: 100,
  });
  const engine = createMeteringEngine({
    store,
    metering: stores.metering,
    namedSubscriptions: stores.namedSubscriptions,
    clock,
    rules: [],
    schemas: new Map(),
    cronIntervalMs: 60_000,
    subscriptionPollMs: pollMs,
    subscriptionWakeSources: [definitions.commits],
  });
  const app = createServer({
    engine,
    definitions,
    ...(options.isAuthRequired === true
      ? { apiKeys: { store: stores.apiKeys, clock, isRequired: true } }
      : {}),
    ...options.server,
  });
  return {
    app,
    definitions,
    engine,
    store,
    apiKeys: stores.apiKeys,
    clock,
    close: async () => {
      // fetch may hold a connection it never sent a request on, which Node keeps until its headers timeout: once
      // every stream had time to end, drop what is left (as test/support/sqlite-seed-engine.ts does).
      const closing = app.close();
      await Promise.race([closing, new Promise((resolve) => setTimeout(resolve, 500))]);
      app.server.closeAllConnections();
      await closing;
      await engine.close();
      await stores.closeAggregates();
    },
  };
}
