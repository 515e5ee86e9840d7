import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type {
  AppendBatch,
  AppendOutcome,
  EventStore,
  GlobalPosition,
  PreparedEvent,
  Range,
} from '@aevon/core';
import {
  AssertionError,
  asGlobalPosition,
  createEventStore,
  createInMemoryStorage,
  createManualClock,
  createSeededRandom,
  isAevonError,
  selectRange,
} from '@aevon/core';
import type { SqliteStorage } from '@aevon/sqlite';
import {
  appliedMigrationVersions,
  applyMigrations,
  createSqliteStorage,
  sqliteMigrations,
} from '@aevon/sqlite';

let dir: string;
const opened: SqliteStorage[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'aevon-sqlite-'));
});

afterEach(async () => {
  for (const storage of opened.splice(0)) await storage.close();
  rmSync(dir, { recursive: true, force: true });
});

const open = (options: Partial<Parameters<typeof createSqliteStorage>[0]> = {}): SqliteStorage => {
  const storage = createSqliteStorage({ path: join(dir, 'nested', 'aevon.db'), ...options });
  opened.push(storage);
  return storage;
};

const storeOn = (storage: SqliteStorage): EventStore =>
  createEventStore({
    storage,
    clock: createManualClock(Date.UTC(2026, 1, 11, 10, 30)),
    random: createSeededRandom(7),
  });

const prepared = (id: string): PreparedEvent => ({
  id,
  type: 'thing.happened',
  data: { id },
  metadata: {},
  schemaVersion: 0,
  occurredAt: '2026-02-11T10:30:00.000Z',
  recordedAt: '2026-02-11T10:30:00.000Z',
  correlationId: null,
  causationId: null,
});

const batch = (
  stream: string,
  expected: AppendBatch[number]['expected'],
  ...ids: string[]
): AppendBatch => [{ stream, expected, events: ids.map(prepared) }];

const positionsOf = (storage: SqliteStorage): bigint[] =>
  storage.database
    .prepare<[], bigint>('SELECT position FROM events ORDER BY position')
    .pluck()
    .safeIntegers(true)
    .all();

const everything: Range<GlobalPosition> = {
  start: null,
  startExclusive: false,
  end: null,
  endExclusive: false,
  limit: 10_000,
  direction: 'forward',
};

describe('SQLite storage settings', () => {
  it('opens the file in WAL mode with synchronous FULL, foreign keys and a busy timeout by default', () => {
    // Given / When
    const storage = open();
    // Then
    expect(storage.database.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(storage.database.pragma('synchronous', { simple: true })).toBe(2);
    expect(storage.database.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(storage.database.pragma('busy_timeout', { simple: true })).toBe(5000);
    expect(storage.engine).toBe('sqlite');
    expect(storage.capabilities.multiProcess).toBe(false);
  });

  it('uses synchronous NORMAL when asked', () => {
    const storage = open({ synchronous: 'normal' });
    expect(storage.database.pragma('synchronous', { simple: true })).toBe(1);
  });

  it('opens an in-memory database', async () => {
    const storage = open({ path: ':memory:' });
    const outcomes = await storage.appendBatches([batch('s', 'no_stream', 'a')]);
    expect(outcomes[0]?.ok).toBe(true);
  });
});

describe('SQLite storage durability and positions', () => {
  it('keeps the data when the file is closed and opened again, and continues the positions', async () => {
    // Given
    const first = open();
    const store = storeOn(first);
    await store.append('orders/1', [
      { id: 'e1', type: 'Placed', data: { n: 1 }, metadata: { who: 'me' } },
    ]);
    await store.append('orders/1', [{ id: 'e2', type: 'Paid', data: { n: 2 } }], { expected: 0n });
    await store.close();
    // When
    const second = open();
    const reopened = storeOn(second);
    await reopened.append('orders/2', [{ id: 'e3', type: 'Placed', data: { n: 3 } }]);
    // Then
    const events = await second.readAll(everything);
    expect(events.map((e) => [e.id, e.stream, e.revision, e.position])).toEqual([
      ['e1', 'orders/1', 0n, '00000000000000000001'],
      ['e2', 'orders/1', 1n, '00000000000000000002'],
      ['e3', 'orders/2', 0n, '00000000000000000003'],
    ]);
    expect(events[0]?.metadata).toEqual({ who: 'me' });
    expect(await second.streamInfo('orders/1')).toMatchObject({
      revision: 1n,
      lastPosition: '00000000000000000002',
    });
  });

  it('assigns gap-free positions even when batches in a group are rolled back', async () => {
    // Given
    const storage = open();
    await storage.appendBatches([batch('a', 'no_stream', 'a0')]);
    // When: failing batches write rows inside their savepoints before they are rolled back.
    await storage.appendBatches([
      [
        { stream: 'b', expected: 'any', events: [prepared('b0'), prepared('b1')] },
        { stream: 'c', expected: 'any', events: [prepared('a0')] },
      ],
      batch('a', 'no_stream', 'x'),
      batch('d', 'any', 'd0', 'd1'),
    ]);
    await storage.appendBatches([batch('e', 'any', 'e0')]);
    // Then
    expect(positionsOf(storage)).toEqual([1n, 2n, 3n, 4n]);
    expect((await storage.readAll(everything)).map((e) => e.id)).toEqual(['a0', 'd0', 'd1', 'e0']);
  });

  it('reads by position strings it did not produce exactly as string comparison does', async () => {
    // Given
    const storage = open();
    await storage.appendBatches([
      batch('s', 'any', ...Array.from({ length: 12 }, (_, i) => `e${i}`)),
    ]);
    const log = await storage.readAll(everything);
    const bounds = [
      '',
      '0',
      '00000000000000000005x',
      '0000000000000000001',
      '1',
      'z',
      '00000000000000000011',
    ];
    // When / Then
    for (const start of [null, ...bounds]) {
      for (const end of [null, ...bounds]) {
        for (const exclusive of [false, true]) {
          const range: Range<GlobalPosition> = {
            ...everything,
            start: start === null ? null : asGlobalPosition(start),
            end: end === null ? null : asGlobalPosition(end),
            startExclusive: exclusive,
            endExclusive: !exclusive,
            limit: 3,
            direction: exclusive ? 'backward' : 'forward',
          };
          const expected = selectRange(log, (e) => e.position, range).map((e) => e.id);
          expect((await storage.readAll(range)).map((e) => e.id)).toEqual(expected);
        }
      }
    }
  });
});

describe('SQLite storage migrations', () => {
  it('applies the schema once and does nothing when the file is opened again', async () => {
    // Given
    const first = open();
    expect(appliedMigrationVersions(first.database)).toEqual(
      sqliteMigrations.map((m) => m.version),
    );
    await first.close();
    // When
    const second = open();
    // Then
    expect(applyMigrations(second.database, sqliteMigrations)).toEqual([]);
    const count = second.database.prepare('SELECT count(*) FROM schema_migrations').pluck().get();
    expect(count).toBe(sqliteMigrations.length);
  });

  it('applies another module’s later migrations on the shared connection', () => {
    const storage = open();
    const metering = [
      { version: 1000, name: 'create_buckets', sql: 'CREATE TABLE buckets (k TEXT) STRICT' },
    ];
    expect(applyMigrations(storage.database, metering)).toEqual([1000]);
    expect(applyMigrations(storage.database, metering)).toEqual([]);
    expect(appliedMigrationVersions(storage.database)).toEqual([1, 1000]);
  });

  it('refuses a database holding a version under another name', () => {
    expect.assertions(1);
    const storage = open();
    try {
      applyMigrations(storage.database, [{ version: 1, name: 'something_else', sql: 'SELECT 1' }]);
    } catch (error) {
      expect(isAevonError(error, 'AEV_STORAGE_SCHEMA_MISMATCH')).toBe(true);
    }
  });
});

describe('SQLite storage group commit', () => {
  it('reports a failing batch alone and commits its neighbours in the same transaction', async () => {
    // Given
    const storage = open();
    await storage.appendBatches([batch('taken', 'no_stream', 'stored')]);
    // When
    const outcomes = await storage.appendBatches([
      batch('one', 'no_stream', 'one-0'),
      batch('taken', 'no_stream', 'fresh'),
      batch('two', 'any', 'two-0', 'stored'),
      batch('three', 'no_stream', 'three-0'),
    ]);
    // Then
    expect(outcomes.map((o) => o.ok)).toEqual([true, false, false, true]);
    const [, mismatch, duplicate] = outcomes;
    expect(mismatch?.ok === false && mismatch.error.code).toBe('AEV_STREAM_VERSION_MISMATCH');
    expect(duplicate?.ok === false && duplicate.error.details).toEqual({
      id: 'stored',
      stream: 'taken',
      revision: '0',
      position: '00000000000000000001',
    });
    expect((await storage.readAll(everything)).map((e) => e.id)).toEqual([
      'stored',
      'one-0',
      'three-0',
    ]);
  });

  it('reports the same outcome as the in-memory model for every kind of failing batch', async () => {
    // Given: the same history on both engines.
    const storage = open();
    const model = createInMemoryStorage();
    const history = [batch('taken', 'no_stream', 'stored')];
    // When: single- and multi-event batches, a duplicate before a mismatch, a mismatch before a duplicate.
    const group: AppendBatch[] = [
      batch('single', 'any', 'stored'),
      batch('ok', 'no_stream', 'ok-0'),
      [
        { stream: 'first', expected: 'any', events: [prepared('f0'), prepared('stored')] },
        { stream: 'taken', expected: 'no_stream', events: [prepared('t0')] },
      ],
      [
        { stream: 'first', expected: 'no_stream', events: [prepared('f1')] },
        { stream: 'taken', expected: 'no_stream', events: [prepared('stored')] },
      ],
      batch('ok', 0n, 'ok-0'),
      batch('ok', 0n, 'ok-1', 'ok-2'),
    ];
    const summary = (outcomes: readonly AppendOutcome[]): unknown[] =>
      outcomes.map((o) => (o.ok ? o.result : { code: o.error.code, details: o.error.details }));
    await storage.appendBatches(history);
    await model.appendBatches(history);
    // Then
    const actual = summary(await storage.appendBatches(group));
    expect(actual).toEqual(summary(await model.appendBatches(group)));
    expect(positionsOf(storage)).toEqual([1n, 2n, 3n, 4n]);
  });

  it('rejects only the conflicting append among concurrent appends through the event store', async () => {
    const storage = open();
    const store = storeOn(storage);
    const results = await Promise.allSettled([
      store.append('s', [{ type: 'A', data: {} }], { expected: 'no_stream' }),
      store.append('s', [{ type: 'B', data: {} }], { expected: 'no_stream' }),
      store.append('t', [{ type: 'C', data: {} }]),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(positionsOf(storage)).toEqual([1n, 2n]);
  });
});

describe('SQLite storage failures', () => {
  it('turns a driver error into AEV_STORAGE_UNAVAILABLE and writes nothing of the whole group', async () => {
    expect.assertions(4);
    // Given: a trigger that fails the insert of one event, as a full disk or I/O error would.
    const storage = open();
    await storage.appendBatches([batch('before', 'any', 'b0')]);
    storage.database.exec(
      `CREATE TRIGGER boom BEFORE INSERT ON events WHEN NEW.id = 'boom'
       BEGIN SELECT RAISE(ABORT, 'injected failure'); END`,
    );
    // When
    try {
      await storage.appendBatches([batch('ok', 'any', 'ok0'), batch('bad', 'any', 'x0', 'boom')]);
    } catch (error) {
      // Then
      expect(isAevonError(error, 'AEV_STORAGE_UNAVAILABLE')).toBe(true);
      expect((error as Error).cause).toBeInstanceOf(BetterSqlite3.SqliteError);
    }
    expect(positionsOf(storage)).toEqual([1n]);
    expect(storage.database.inTransaction).toBe(false);
  });

  it('gives AEV_STORAGE_UNAVAILABLE when the disk is full, and appends again once there is room', async () => {
    // Given
    const storage = open();
    const pages = storage.database.pragma('page_count', { simple: true });
    storage.database.pragma(`max_page_count = ${String(pages)}`);
    const big = { ...prepared('big'), data: { text: 'x'.repeat(200_000) } };
    // When
    const error = await storage
      .appendBatches([[{ stream: 's', expected: 'any', events: [big] }]])
      .catch((e) => e);
    // Then
    expect(isAevonError(error, 'AEV_STORAGE_UNAVAILABLE')).toBe(true);
    expect(positionsOf(storage)).toEqual([]);
    storage.database.pragma('max_page_count = 1073741823');
    const outcomes = await storage.appendBatches([
      [{ stream: 's', expected: 'no_stream', events: [big] }],
    ]);
    expect(outcomes[0]?.ok).toBe(true);
  });

  it('gives AEV_STORAGE_UNAVAILABLE when another connection holds the write lock beyond the timeout', async () => {
    // Given
    const storage = open({ busyTimeoutMs: 50 });
    const other = new BetterSqlite3(join(dir, 'nested', 'aevon.db'));
    other.exec('BEGIN IMMEDIATE');
    try {
      // When
      const error = await storage.appendBatches([batch('s', 'any', 'e0')]).catch((e) => e);
      // Then
      expect(isAevonError(error, 'AEV_STORAGE_UNAVAILABLE')).toBe(true);
      expect((error as Error).message).toContain('SQLITE_BUSY');
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    expect(positionsOf(storage)).toEqual([]);
  });

  it('refuses every call after close', async () => {
    const storage = open();
    await storage.close();
    await storage.close();
    const calls: Array<() => Promise<unknown>> = [
      () => storage.appendBatches([batch('s', 'any', 'e')]),
      () => storage.readAll(everything),
      () => storage.readStream('s', { ...everything, start: null, end: null }),
      () => storage.readLatest('s'),
      () => storage.streamInfo('s'),
      () => storage.headPosition(),
    ];
    for (const call of calls) {
      const error = await call().catch((e) => e);
      expect(isAevonError(error, 'AEV_STORAGE_UNAVAILABLE')).toBe(true);
    }
    expect(() => storage.transaction(() => 1)).toThrow(/storage is closed/);
  });
});

describe('SQLite storage shared connection', () => {
  it('runs another module’s transaction on the same connection, committing or rolling back', async () => {
    // Given
    const storage = open();
    storage.database.exec('CREATE TABLE tallies (n INTEGER) STRICT');
    const insert = storage.database.prepare('INSERT INTO tallies (n) VALUES (?)');
    // When
    storage.transaction(() => insert.run(1));
    expect(() =>
      storage.transaction(() => {
        insert.run(2);
        throw new Error('changed my mind');
      }),
    ).toThrow('changed my mind');
    // Then
    expect(storage.database.prepare('SELECT n FROM tallies').pluck().all()).toEqual([1]);
  });

  it('refuses, as a programmer error, to append inside a transaction someone left open', async () => {
    const storage = open();
    storage.database.exec('BEGIN');
    const error = await storage.appendBatches([batch('s', 'any', 'e')]).catch((e) => e);
    storage.database.exec('ROLLBACK');
    expect(error).toBeInstanceOf(AssertionError);
  });

  it('appends within another module’s transaction, with the same checks, and rolls back with it', async () => {
    const storage = open();
    storage.database.exec('CREATE TABLE tallies (n INTEGER) STRICT');
    const insert = storage.database.prepare('INSERT INTO tallies (n) VALUES (?)');
    await storage.appendBatches([batch('s', 'no_stream', 'a')]);
    // Committed together: the event takes the next position, the table row is there.
    const outcome = storage.transaction(() => {
      insert.run(1);
      return storage.appendWithin(batch('s', 0n, 'b'));
    });
    expect(outcome.ok && outcome.result.events.map((e) => [e.id, e.revision, e.position])).toEqual([
      ['b', 1n, '00000000000000000002'],
    ]);
    // A failed expectation and a stored id are outcomes, and write nothing of the batch.
    const refused = storage.transaction(() => [
      storage.appendWithin(batch('s', 0n, 'c')),
      storage.appendWithin(batch('t', 'any', 'a')),
    ]);
    expect(refused.map((o) => !o.ok && o.error.code)).toEqual([
      'AEV_STREAM_VERSION_MISMATCH',
      'AEV_EVENT_ID_DUPLICATE',
    ]);
    // Rolled back with the caller: the event goes too, and its position is taken again.
    expect(() =>
      storage.transaction(() => {
        storage.appendWithin(batch('s', 1n, 'd'));
        insert.run(2);
        throw new Error('changed my mind');
      }),
    ).toThrow('changed my mind');
    await storage.appendBatches([batch('s', 1n, 'e')]);
    expect(positionsOf(storage)).toEqual([1n, 2n, 3n]);
    expect(storage.database.prepare('SELECT n FROM tallies').pluck().all()).toEqual([1]);
    // Outside a transaction it is a programmer error.
    expect(() => storage.appendWithin(batch('s', 'any', 'f'))).toThrow(AssertionError);
  });
});
