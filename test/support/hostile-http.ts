// Fixtures of the hostile-input tests (packages/server/src/hostile-input*.test.ts): a real metering engine and its
// HTTP server on SQLite `:memory:` or a fresh PostgreSQL database, the rules that make numeric fields matter, and the
// checks every error answer must pass.
import type { EventStore } from '@aevon/core';
import { createEventStore, createSeededRandom } from '@aevon/core';
import { createManualClock } from '@aevon/core/testing';
import type { MeteringEngine, Rule } from '@aevon/engine';
import { createMeteringEngine } from '@aevon/engine';
import { createPostgresMeteringStore, createPostgresStorage } from '@aevon/postgres';
import type { ServerOptions } from '@aevon/server';
import { createServer } from '@aevon/server';
import { createSqliteMeteringStore, createSqliteStorage } from '@aevon/sqlite';
import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import { createTestDatabase } from './postgres.js';

/** The quick start's count rule plus sum and max rules over `data.tokens` of `llm.call` events. */
export const hostileRules: readonly Rule[] = [
  { name: 'count_api_requests', sourceEvent: 'api.request', operator: 'count' },
  { name: 'tokens', sourceEvent: 'llm.call', operator: 'sum', field: 'tokens' },
  { name: 'tokens_max', sourceEvent: 'llm.call', operator: 'max', field: 'tokens' },
];

/** A JSON Schema for `typed.event` version 1, so that `schema_version: 1` is validated. */
const typedEventSchema = {
  type: 'object',
  properties: { n: { type: 'integer' } },
  required: ['n'],
  additionalProperties: false,
};

/** One stored event as the hostile-input tests compare it. */
export interface StoredEvent {
  readonly id: string;
  readonly data: unknown;
  readonly metadata: unknown;
}

/** A server on a real engine, with the store it writes to. */
export interface HostileServer {
  readonly app: FastifyInstance;
  readonly engine: MeteringEngine;
  readonly store: EventStore;
  /** Runs SQL on the server's database behind its back, to break it on purpose; `@.` stands for the schema. */
  sabotage(sql: string): Promise<void>;
  /** Every stored event in log order, committed ones included at once (see {@link openStorage}). */
  readLog(): Promise<StoredEvent[]>;
  close(): Promise<void>;
}

/** Where a {@link HostileServer} stores its events. */
export type HostileTargetName = 'sqlite' | 'postgres';

/** The storage targets, for `describe.each`. */
export const hostileTargets: readonly HostileTargetName[] = ['sqlite', 'postgres'];

/**
 * Opens an engine and its server on `target`; the clock stands after the quick start's hour. PostgreSQL gets a fresh
 * database, dropped again by `close()`.
 */
export async function openHostileServer(
  target: HostileTargetName,
  serverOptions: Omit<ServerOptions, 'engine'> = {},
): Promise<HostileServer> {
  const clock = createManualClock(Date.parse('2026-02-12T00:00:00Z'));
  const opened = await openStorage(target);
  const store = createEventStore({
    storage: opened.storage,
    clock,
    random: createSeededRandom(1),
  });
  const engine = createMeteringEngine({
    store,
    metering: opened.metering,
    clock,
    rules: hostileRules,
    schemas: new Map([['typed.event', new Map([[1, typedEventSchema]])]]),
    cronIntervalMs: 60_000,
  });
  const app = createServer({ engine, ...serverOptions });
  await app.ready();
  return {
    app,
    engine,
    store,
    readLog: () => opened.readLog(store),
    sabotage: (sql) => opened.sabotage(sql),
    close: async () => {
      await app.close();
      await engine.close();
      await opened.drop();
    },
  };
}

/**
 * Opens the storage of a target. PostgreSQL's global read shows only events below the cluster-wide transaction
 * watermark, which other test files on the same server hold back at will; the log is therefore read there with a
 * plain SELECT, which sees every committed row.
 */
async function openStorage(target: HostileTargetName) {
  if (target === 'sqlite') {
    const storage = createSqliteStorage({ path: ':memory:' });
    return {
      storage,
      metering: createSqliteMeteringStore(storage),
      readLog: readThroughStore,
      sabotage: async (sql: string) => {
        storage.database.exec(sql.replaceAll('@.', ''));
      },
      drop: async () => undefined,
    };
  }
  const database = await createTestDatabase('aevon_hostile');
  const storage = await createPostgresStorage({ connectionString: database.url });
  return {
    storage,
    metering: await createPostgresMeteringStore(storage),
    readLog: async (): Promise<StoredEvent[]> => {
      const result = await storage.pool.query<StoredEvent>(
        `SELECT id, data, metadata FROM "${storage.schema}".events ORDER BY tx_id, seq`,
      );
      return result.rows.map(({ id, data, metadata }) => ({ id, data, metadata }));
    },
    sabotage: async (sql: string) => {
      await storage.pool.query(sql.replaceAll('@.', `"${storage.schema}".`));
    },
    drop: () => database.drop(),
  };
}

async function readThroughStore(store: EventStore): Promise<StoredEvent[]> {
  const events: StoredEvent[] = [];
  for await (const { id, data, metadata } of store.readAll()) events.push({ id, data, metadata });
  return events;
}

/** The problem+json media type every error answer carries. */
export const problemContentType = 'application/problem+json; charset=utf-8';

/** The parts of an HTTP answer the problem check reads (light-my-request and fetch answers both fit). */
export interface AnswerParts {
  readonly status: number;
  readonly contentType: string | undefined;
  readonly body: string;
}

/**
 * Checks that an answer is a coded client error: the expected 4xx status (any 4xx when none is given),
 * `application/problem+json`, and a body whose `code` is an `AEV_` code and whose `status` repeats the status.
 * Returns the parsed problem.
 */
export function expectProblem(
  answer: AnswerParts,
  status?: number,
  context = '',
): Record<string, unknown> {
  if (status === undefined) {
    expect(answer.status, `${context} ${answer.body}`).toBeGreaterThanOrEqual(400);
    expect(answer.status, `${context} ${answer.body}`).toBeLessThan(500);
  } else {
    expect(answer.status, `${context} ${answer.body}`).toBe(status);
  }
  expect(answer.contentType, context).toBe(problemContentType);
  const problem = JSON.parse(answer.body) as Record<string, unknown>;
  expect(problem['code'], context).toMatch(/^AEV_[A-Z_]+$/);
  expect(problem['status'], context).toBe(answer.status);
  return problem;
}
