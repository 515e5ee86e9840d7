import type { AppendBatch, AppendOutcome, PreparedEvent, RecordedEvent } from '@aevon/core';
import { createEventStore, createManualClock, createSeededRandom, isAevonError } from '@aevon/core';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestDatabase } from '../../../test/support/postgres.js';
import { createTestDatabase } from '../../../test/support/postgres.js';
import { isPostgresDsn } from './postgres-dsn.js';
import type { PostgresStorage } from './postgres-storage.js';
import { createPostgresStorage } from './postgres-storage.js';
import { appendInTransaction } from './queries/append.js';
import { tablesOf } from './queries/tables.js';
import { checkSchemaVersion, migrate } from './schema/migrate.js';
import { eventLogMigrations } from './schema/migrations.js';

let database: TestDatabase;
let schemas = 0;
const open: PostgresStorage[] = [];

beforeAll(async () => {
  database = await createTestDatabase('aevon_pg');
});
afterAll(async () => {
  for (const storage of open) await storage.close().catch(() => undefined);
  await database.drop();
});

const freshSchema = (): string => `t_${(schemas += 1)}`;

async function storageOn(schema: string): Promise<PostgresStorage> {
  const storage = await createPostgresStorage({
    connectionString: database.url,
    schema,
    poolMax: 4,
  });
  open.push(storage);
  return storage;
}

function storeOn(storage: PostgresStorage, seed = 7) {
  // Each node needs its own seed: equal seeds would generate equal event ids.
  return createEventStore({
    storage,
    clock: createManualClock(0),
    random: createSeededRandom(seed),
  });
}

function prepared(id: string): PreparedEvent {
  return {
    id,
    type: 'thing.happened',
    data: { id },
    metadata: {},
    schemaVersion: 0,
    occurredAt: '2026-01-01T00:00:00.000+02:00',
    recordedAt: '2026-01-01T00:00:00.000Z',
    correlationId: null,
    causationId: null,
  };
}

async function withPool<T>(body: (pool: pg.Pool) => Promise<T>): Promise<T> {
  const pool = new pg.Pool({ connectionString: database.url, max: 8 });
  try {
    return await body(pool);
  } finally {
    await pool.end();
  }
}

describe('postgres storage: migrations', () => {
  it('applies the migrations once when several nodes migrate at the same time', async () => {
    const schema = freshSchema();
    await withPool(async (pool) => {
      // When
      const results = await Promise.all(Array.from({ length: 6 }, () => migrate(pool, { schema })));
      // Then
      expect(results.flatMap((r) => r.applied)).toEqual([1]);
      expect(results.every((r) => r.version === 1)).toBe(true);
      expect((await migrate(pool, { schema })).applied).toEqual([]);
      const rows = await pool.query(`SELECT version, name FROM ${schema}.schema_migrations`);
      expect(rows.rows).toEqual([{ version: 1, name: 'event-log' }]);
    });
  });

  it('applies a later migration supplied by another module', async () => {
    const schema = freshSchema();
    await withPool(async (pool) => {
      await migrate(pool, { schema });
      const more = [
        ...eventLogMigrations,
        { version: 2, name: 'extra', sql: 'CREATE TABLE extra (x int)' },
      ];
      expect((await migrate(pool, { schema, migrations: more })).applied).toEqual([2]);
      expect(await checkSchemaVersion(pool, { schema })).toBe(2);
      await pool.query(`SELECT x FROM ${schema}.extra`);
    });
  });

  it('refuses an empty database with AEV_STORAGE_SCHEMA_MISMATCH when it may not migrate', async () => {
    expect.assertions(2);
    try {
      await createPostgresStorage({
        connectionString: database.url,
        schema: freshSchema(),
        migrate: false,
      });
    } catch (error) {
      expect(isAevonError(error, 'AEV_STORAGE_SCHEMA_MISMATCH')).toBe(true);
      expect(isAevonError(error) && error.details).toEqual({ expected: 1, actual: 0 });
    }
  });

  it('opens a migrated database without migrating', async () => {
    const schema = freshSchema();
    await storageOn(schema);
    const storage = await createPostgresStorage({
      connectionString: database.url,
      schema,
      migrate: false,
    });
    open.push(storage);
    expect(storage.capabilities.multiProcess).toBe(true);
  });
});

describe('postgres storage: engine behaviour', () => {
  it('assigns strictly increasing, fixed-width positions', async () => {
    const store = storeOn(await storageOn(freshSchema()));
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        store.append(`s/${i % 3}`, [{ type: 't', data: { i } }]),
      ),
    );
    const all: RecordedEvent[] = [];
    for await (const event of store.readAll()) all.push(event);
    expect(all).toHaveLength(40);
    for (const event of all) expect(event.position).toMatch(/^\d{20}-\d{20}$/);
    const positions = all.map((e) => e.position);
    expect([...positions].sort()).toEqual(positions);
    expect(new Set(positions).size).toBe(40);
    expect(results.every((r) => r.events.every((e) => positions.includes(e.position)))).toBe(true);
  });

  it('lets two nodes append to one stream with expected any at the same time', async () => {
    const schema = freshSchema();
    const [a, b] = [storeOn(await storageOn(schema), 1), storeOn(await storageOn(schema), 2)];
    // When
    await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        (i % 2 === 0 ? a : b).append('shared', [{ type: 't', data: { i } }]),
      ),
    );
    // Then
    const revisions: bigint[] = [];
    for await (const event of a.read('shared')) revisions.push(event.revision);
    expect(revisions).toEqual(Array.from({ length: 60 }, (_, i) => BigInt(i)));
    expect((await b.streamInfo('shared'))?.revision).toBe(59n);
  });

  it('fails only the batch whose id another node stored concurrently', async () => {
    const schema = freshSchema();
    const storage = await storageOn(schema);
    await withPool(async (pool) => {
      // Given another node that has inserted `raced` but not committed yet
      const other = await pool.connect();
      await other.query('BEGIN');
      await appendInTransaction(other, tablesOf(schema), [
        [{ stream: 'o', expected: 'any', events: [prepared('raced')] }],
      ]);
      // When this node appends a group holding the same id, then the other node commits
      const pending: Promise<readonly AppendOutcome[]> = storage.appendBatches([
        [{ stream: 'x', expected: 'any', events: [prepared('x1')] }],
        [{ stream: 'y', expected: 'any', events: [prepared('y1'), prepared('raced')] }],
        [{ stream: 'y', expected: 'any', events: [prepared('y2')] }],
      ]);
      await new Promise((resolve) => setTimeout(resolve, 100));
      await other.query('COMMIT');
      other.release();
      const outcomes = await pending;
      // Then
      expect(outcomes.map((o) => o.ok)).toEqual([true, false, true]);
      const failed = outcomes[1];
      expect(failed?.ok === false && failed.error.code).toBe('AEV_EVENT_ID_DUPLICATE');
      expect(failed?.ok === false && failed.error.details).toMatchObject({
        id: 'raced',
        stream: 'o',
        revision: '0',
      });
      const y = outcomes[2];
      expect(y?.ok === true && y.result.streams).toEqual([
        { stream: 'y', firstRevision: 0n, lastRevision: 0n },
      ]);
      const streams = await pool.query(
        `SELECT stream, revision::int FROM ${schema}.streams ORDER BY stream`,
      );
      expect(streams.rows).toEqual([
        { stream: 'o', revision: 0 },
        { stream: 'x', revision: 0 },
        { stream: 'y', revision: 0 },
      ]);
    });
  });

  it('reports a repeated id inside one group as a duplicate of the earlier batch', async () => {
    const storage = await storageOn(freshSchema());
    const batch = (stream: string, id: string): AppendBatch => [
      { stream, expected: 'any', events: [prepared(id)] },
    ];
    const outcomes = await storage.appendBatches([
      batch('a', 'same'),
      batch('b', 'same'),
      batch('c', 'other'),
    ]);
    expect(outcomes.map((o) => o.ok)).toEqual([true, false, true]);
    const first = outcomes[0];
    const second = outcomes[1];
    expect(second?.ok === false && second.error.details).toEqual({
      id: 'same',
      stream: 'a',
      revision: '0',
      position: first?.ok === true ? first.result.lastPosition : null,
    });
    expect(await storage.streamInfo('b')).toBeNull();
  });

  it('throws AEV_STORAGE_UNAVAILABLE after close and when the server cannot be reached', async () => {
    expect.assertions(3);
    const storage = await createPostgresStorage({
      connectionString: database.url,
      schema: freshSchema(),
    });
    await storage.close();
    await expect(storage.headPosition()).rejects.toSatisfy((e) =>
      isAevonError(e, 'AEV_STORAGE_UNAVAILABLE'),
    );
    await expect(
      storage.appendBatches([[{ stream: 's', expected: 'any', events: [prepared('z')] }]]),
    ).rejects.toSatisfy((e) => isAevonError(e, 'AEV_STORAGE_UNAVAILABLE'));
    await expect(
      createPostgresStorage({ connectionString: 'postgres://nobody@127.0.0.1:1/none' }),
    ).rejects.toSatisfy((e) => isAevonError(e, 'AEV_STORAGE_UNAVAILABLE'));
  });

  it('recognizes PostgreSQL DSNs', () => {
    expect(isPostgresDsn('postgres://u@h/db')).toBe(true);
    expect(isPostgresDsn('postgresql://u@h/db')).toBe(true);
    expect(isPostgresDsn('sqlite:./x.db')).toBe(false);
  });
});
