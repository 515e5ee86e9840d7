// Goal: what only the SQLite aggregate store does: the EXPLAIN-based SQL guard, the query process (a timeout kills
// it, the next query starts another, a full queue refuses), `:memory:` queries in process, definitions shared by two
// connections to one file, state that survives a reopen, and the commit signal subscriptions wake on.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AevonError } from '@aevon/core';
import type { TypedWrite, Upcasters, Value } from '@aevon/ddl';
import { validateEventInput } from '@aevon/ddl';
import type { SqliteAggregateStore, SqliteStorage } from '@aevon/sqlite';
import { createSqliteAggregateStore, createSqliteStorage } from '@aevon/sqlite';
import { QueryProcess, sqlResultBytesMax } from './query-process.js';
import {
  seedAccountCreatedBody,
  seedDdlFixed,
} from '../../../../test/support/aggregate-store-contract.js';

const recordedAt = '2026-01-02T03:04:05.678Z';
const noUpcasters: Upcasters = new Map();
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function tempPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'aevon-sqlite-agg-'));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'aevon.db');
}

function open(
  path: string,
  sqlQueueMax?: number,
): { storage: SqliteStorage; store: SqliteAggregateStore } {
  const storage = createSqliteStorage({ path, synchronous: 'normal' });
  const store = createSqliteAggregateStore(
    storage,
    sqlQueueMax === undefined ? {} : { sqlQueueMax },
  );
  cleanups.push(async () => {
    await store.close();
    await storage.close();
  });
  return { storage, store };
}

async function define(store: SqliteAggregateStore, ddl: string): Promise<void> {
  await store.changeDefinitions({ ddl, eventId: randomUUID(), recordedAt, upcasters: noUpcasters });
}

async function write(
  store: SqliteAggregateStore,
  stream: string,
  eventType: string,
  body: unknown,
): Promise<TypedWrite> {
  const state = await store.loadDefinitions();
  const validated = validateEventInput(state, {
    stream,
    eventType,
    body,
    pathValues: [],
    now: recordedAt,
    randomUuid: randomUUID,
  });
  return {
    definitionsVersion: state.version,
    ...validated,
    expected: 'any',
    id: randomUUID(),
    metadata: {},
    occurredAt: recordedAt,
    recordedAt,
    correlationId: null,
    causationId: null,
  };
}

async function seeded(path: string, accounts = 2): Promise<ReturnType<typeof open>> {
  const opened = open(path);
  await define(opened.store, seedDdlFixed);
  for (let i = 0; i < accounts; i += 1) {
    await opened.store.appendTyped(
      await write(opened.store, 'account_events', 'account_created', seedAccountCreatedBody),
    );
  }
  return opened;
}

async function codeOf(promise: Promise<unknown>): Promise<string | null> {
  return promise.then(
    () => null,
    (error: unknown) => (error instanceof AevonError ? error.code : `not coded: ${String(error)}`),
  );
}

const query = (
  store: SqliteAggregateStore,
  sql: string,
  params: Value[] = [],
  timeoutMs = 10_000,
) => store.query({ sql, params, rowsMax: 100, timeoutMs });

describe('SQLite aggregate store: the SQL guard', () => {
  it.each([
    ['load_extension', "SELECT load_extension('/tmp/x.so')"],
    ['a pragma function (virtual table)', "SELECT * FROM pragma_table_info('agg_account')"],
    ['dbstat', 'SELECT * FROM dbstat'],
    ['a pragma function next to json_each', "SELECT * FROM json_each('[1]'), pragma_database_list"],
    ['the temp schema', 'SELECT * FROM sqlite_temp_schema'],
    ['the log by its schema name', 'SELECT * FROM main.events'],
    ['the log in a subquery', 'SELECT (SELECT count(*) FROM events) AS n FROM account'],
    ['the log in a CTE', 'WITH e AS (SELECT * FROM events) SELECT * FROM account, e'],
    ['the change feed table', 'SELECT * FROM aggregate_changes'],
    ['the key counters', 'SELECT * FROM aggregate_key_counters'],
    ['the migrations table', 'SELECT * FROM schema_migrations'],
    [
      'a WITH that inserts',
      'WITH x AS (SELECT 1) INSERT INTO agg_account (id, name, created_at) SELECT 9, 8, 7 FROM x',
    ],
    ['a comment hiding a DELETE', '/* SELECT */ DELETE FROM agg_account'],
    ['VALUES', 'VALUES (1)'],
    ['an anonymous parameter', 'SELECT * FROM account WHERE id = ?'],
    ['a named parameter', 'SELECT * FROM account WHERE id = :id'],
    ['an @ parameter', 'SELECT * FROM account WHERE id = @id'],
    ['a $name parameter', 'SELECT * FROM account WHERE id = $id'],
    ['$0', 'SELECT * FROM account WHERE id = $0'],
    ['an unterminated string', "SELECT 'x FROM account"],
    ['duplicate column names', 'SELECT id, id FROM account'],
  ])('refuses %s', async (_label, sql) => {
    const { store } = await seeded(tempPath());
    expect(await codeOf(query(store, sql))).toBe('AEV_SQL_INVALID');
    expect((await query(store, 'SELECT count(*) AS n FROM account')).rows).toEqual([{ n: 2 }]);
  });

  it('reads aggregate tables by table name, through their indexes, with unions and comments', async () => {
    const { store } = await seeded(tempPath());
    expect((await query(store, 'SELECT id FROM agg_account ORDER BY id')).rows).toEqual([
      { id: 1 },
      { id: 2 },
    ]);
    await define(
      store,
      `CREATE AGGREGATE person (id integer PRIMARY KEY, email text UNIQUE);
       CREATE EVENT_TYPE person_added (id creates person(id), email updates person(email));
       CREATE STREAM people (path "/people/{id}" event_types (person_added))`,
    );
    await store.appendTyped(await write(store, 'people', 'person_added', { id: 7, email: 'a@x' }));
    // Served by the UNIQUE index (its own root page).
    expect((await query(store, 'SELECT email FROM person WHERE email = $1', ['a@x'])).rows).toEqual(
      [{ email: 'a@x' }],
    );
    expect(
      (
        await query(
          store,
          `-- a comment first
           SELECT id FROM account UNION SELECT id FROM person ORDER BY 1 /* trailing */;`,
        )
      ).rows,
    ).toEqual([{ id: 1 }, { id: 2 }, { id: 7 }]);
    // `$1` inside a literal or a quoted name is text, not a parameter.
    expect((await query(store, `SELECT '$1' AS "$2" FROM account LIMIT 1`)).rows).toEqual([
      { $2: '$1' },
    ]);
  });

  it('opens json_each and json_tree, to query jsonb and array columns', async () => {
    const { store } = await seeded(tempPath());
    await define(
      store,
      `CREATE AGGREGATE doc (id integer PRIMARY KEY, tags text[], body jsonb);
       CREATE EVENT_TYPE doc_written (id creates doc(id), tags updates doc(tags), body updates doc(body));
       CREATE STREAM docs (path "/docs/{id}" event_types (doc_written))`,
    );
    await store.appendTyped(
      await write(store, 'docs', 'doc_written', { id: 1, tags: ['a', 'b'], body: { k: [1, 2] } }),
    );
    await store.appendTyped(await write(store, 'docs', 'doc_written', { id: 2, tags: ['b'] }));
    expect(
      (
        await query(
          store,
          'SELECT d.id, t.value AS tag FROM doc d, json_each(d.tags) t ORDER BY d.id, t.value',
        )
      ).rows,
    ).toEqual([
      { id: 1, tag: 'a' },
      { id: 1, tag: 'b' },
      { id: 2, tag: 'b' },
    ]);
    expect(
      (
        await query(
          store,
          'SELECT id FROM doc WHERE EXISTS (SELECT 1 FROM json_each(doc.tags) WHERE value = $1) ORDER BY id',
          ['a'],
        )
      ).rows,
    ).toEqual([{ id: 1 }]);
    expect(
      (
        await query(
          store,
          "SELECT count(*) AS n FROM doc, json_tree(doc.body) WHERE json_tree.type = 'integer'",
        )
      ).rows,
    ).toEqual([{ n: 2 }]);
  });

  it('an aggregate named like a storage table is queried by its table name; the name still means the log', async () => {
    const { store } = await seeded(tempPath());
    await define(
      store,
      `CREATE AGGREGATE events (id integer PRIMARY KEY, what text);
       CREATE EVENT_TYPE thing_happened (id creates events(id), what updates events(what));
       CREATE STREAM things (path "/things/{id}" event_types (thing_happened))`,
    );
    await store.appendTyped(await write(store, 'things', 'thing_happened', { id: 1, what: 'x' }));
    expect((await query(store, 'SELECT * FROM agg_events')).rows).toEqual([{ id: 1, what: 'x' }]);
    expect(await codeOf(query(store, 'SELECT * FROM events'))).toBe('AEV_SQL_INVALID');
  });
});

describe('SQLite aggregate store: the query process', () => {
  const heavy = `WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 100000000)
                 SELECT count(*) AS c FROM n a, n b`;

  it('kills a query at its timeout and answers the next one from a new process', async () => {
    const { store } = await seeded(tempPath());
    expect((await query(store, 'SELECT count(*) AS n FROM account')).rows).toEqual([{ n: 2 }]);
    expect(await codeOf(query(store, heavy, [], 100))).toBe('AEV_SQL_TIMEOUT');
    expect((await query(store, 'SELECT count(*) AS n FROM account')).rows).toEqual([{ n: 2 }]);
    // Writes go on meanwhile, and the new process sees them.
    await store.appendTyped(
      await write(store, 'account_events', 'account_created', seedAccountCreatedBody),
    );
    expect((await query(store, 'SELECT count(*) AS n FROM account')).rows).toEqual([{ n: 3 }]);
  });

  it('kills the timed-out process itself, and the next query runs in another', async () => {
    const path = tempPath();
    await seeded(path);
    const runner = new QueryProcess(path, 4);
    cleanups.push(async () => runner.close());
    const job = (sql: string, timeoutMs: number) => ({
      sql,
      params: {},
      rowsMax: 10,
      bytesMax: sqlResultBytesMax,
      timeoutMs,
      views: { version: 1, statements: [] },
    });
    expect((await runner.run(job('SELECT count(*) FROM agg_account', 10_000))).rows).toEqual([
      [2n],
    ]);
    const first = runner.pid;
    expect(first).not.toBeNull();
    expect(await codeOf(runner.run(job(heavy, 100)))).toBe('AEV_SQL_TIMEOUT');
    expect(runner.pid).toBeNull();
    // SIGKILL is asynchronous: wait until the process is gone (signal 0 only checks that it exists).
    const alive = (pid: number): boolean => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    for (let i = 0; i < 10_000 && alive(first ?? 0); i += 1) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(alive(first ?? 0)).toBe(false);
    expect((await runner.run(job('SELECT count(*) FROM agg_account', 10_000))).rows).toEqual([
      [2n],
    ]);
    expect(runner.pid).not.toBe(first);
  });

  it('queues queries one at a time and refuses beyond the queue with AEV_OVERLOADED', async () => {
    const path = tempPath();
    await seeded(path);
    const { store: small } = open(path, 1);
    const running = codeOf(query(small, heavy, [], 300));
    const waiting = query(small, 'SELECT count(*) AS n FROM account', [], 5_000);
    expect(await codeOf(query(small, 'SELECT 1 AS one FROM account'))).toBe('AEV_OVERLOADED');
    expect(await running).toBe('AEV_SQL_TIMEOUT');
    // The waiting query ran after the timeout, on the next process.
    expect((await waiting).rows).toEqual([{ n: 2 }]);
  });

  it('fails waiting queries when the store closes', async () => {
    const { store } = await seeded(tempPath());
    const running = codeOf(query(store, heavy, [], 60_000));
    const waiting = codeOf(query(store, 'SELECT 1 AS one FROM account'));
    await store.close();
    expect(await running).toBe('AEV_STORAGE_UNAVAILABLE');
    expect(await waiting).toBe('AEV_STORAGE_UNAVAILABLE');
    expect(await codeOf(query(store, 'SELECT 1 AS one FROM account'))).toBe(
      'AEV_STORAGE_UNAVAILABLE',
    );
  });
});

describe('SQLite aggregate store: result size', () => {
  it.each([
    ['a file database', true],
    [':memory:', false],
  ])('refuses a result above sqlResultBytesMax on %s', async (_label, file) => {
    const { store } = await seeded(file ? tempPath() : ':memory:');
    const big = `WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 40)
                   SELECT x, randomblob(1000000) AS b FROM n`;
    expect(await codeOf(query(store, big))).toBe('AEV_SQL_INVALID');
    expect((await query(store, 'SELECT count(*) AS n FROM account')).rows).toEqual([{ n: 2 }]);
  });

  it('refuses event data above the storage limit with AEV_EVENT_DATA_TOO_LARGE, writing nothing', async () => {
    const path = tempPath();
    await seeded(path, 0);
    const storage = createSqliteStorage({ path, limits: { eventDataBytesMax: 300 } });
    const store = createSqliteAggregateStore(storage);
    cleanups.push(async () => {
      await store.close();
      await storage.close();
    });
    const head = await storage.headPosition();
    const long = await write(store, 'account_events', 'account_created', {
      ...seedAccountCreatedBody,
      name: 'x'.repeat(40),
      billing_first_name: 'y'.repeat(40),
      billing_last_name: 'z'.repeat(40),
    });
    const padded = { ...long, metadata: { note: 'n'.repeat(200) } };
    expect(await codeOf(store.appendTyped(padded))).toBe('AEV_EVENT_DATA_TOO_LARGE');
    expect(await storage.headPosition()).toBe(head);
    expect(await store.readRow('account', 1)).toBeNull();
    await store.appendTyped(long);
    expect((await store.readRow('account', 1))?.name).toBe('x'.repeat(40));
  });
});

describe('SQLite aggregate store: :memory:', () => {
  it('runs queries in process on the shared connection, and checks the timeout between rows', async () => {
    const { store, storage } = await seeded(':memory:');
    expect((await query(store, 'SELECT id, name FROM account ORDER BY id')).rows).toEqual([
      { id: 1, name: 'test account' },
      { id: 2, name: 'test account' },
    ]);
    const endless = store.query({
      sql: 'WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT x FROM n',
      params: [],
      rowsMax: Number.MAX_SAFE_INTEGER,
      timeoutMs: 50,
    });
    expect(await codeOf(endless)).toBe('AEV_SQL_TIMEOUT');
    // The views the queries use do not disturb the log's own statements on the shared connection.
    await store.appendTyped(
      await write(store, 'account_events', 'account_created', seedAccountCreatedBody),
    );
    expect(await storage.headPosition()).toBe('00000000000000000004');
    expect(await codeOf(query(store, 'SELECT * FROM events'))).toBe('AEV_SQL_INVALID');
  });
});

describe('SQLite aggregate store: state', () => {
  it('keeps definitions, tables, counters and changes across a reopen', async () => {
    const path = tempPath();
    const first = await seeded(path);
    await first.store.close();
    await first.storage.close();
    const { store } = open(path);
    expect((await store.loadDefinitions()).version).toBe(1);
    expect((await store.readRow('account', 2))?.id).toBe(2);
    const next = await store.appendTyped(
      await write(store, 'account_events', 'account_created', seedAccountCreatedBody),
    );
    expect(next.created).toEqual({ id: 3, billing_id: 3 });
    expect(await store.readChanges({ after: null, limit: 100 })).toHaveLength(6);
  });

  it('sees definitions another connection changed (the cache follows the definitions stream)', async () => {
    const path = tempPath();
    const a = await seeded(path);
    const b = open(path);
    expect((await b.store.loadDefinitions()).version).toBe(1);
    const stale = await write(b.store, 'account_events', 'account_created', seedAccountCreatedBody);
    await define(a.store, 'ALTER AGGREGATE account ADD COLUMN tier text');
    expect(await codeOf(b.store.appendTyped(stale))).toBe('AEV_DEFINITIONS_CHANGED');
    expect((await b.store.loadDefinitions()).version).toBe(2);
    expect((await query(b.store, 'SELECT tier FROM account ORDER BY id')).rows).toEqual([
      { tier: null },
      { tier: null },
    ]);
    const fresh = await b.store.appendTyped(
      await write(b.store, 'account_events', 'account_created', seedAccountCreatedBody),
    );
    expect(fresh.created).toEqual({ id: 3, billing_id: 3 });
    expect((await a.store.readRow('account', 3))?.tier).toBeNull();
  });

  it('fails a definitions change whose upcaster throws with AEV_MIGRATION_INVALID, writing nothing', async () => {
    const path = tempPath();
    const { store, storage } = await seeded(path);
    await store.appendTyped(
      await write(store, 'account_events', 'account_name_updated', { id: 1, name: 'renamed' }),
    );
    const head = await storage.headPosition();
    const throwing: Upcasters = new Map([
      [
        'account_name_updated',
        new Map([
          [
            1,
            () => {
              throw new Error('cannot read this one');
            },
          ],
        ]),
      ],
    ]);
    const error = await store
      .changeDefinitions({
        ddl: 'ALTER EVENT_TYPE account_name_updated ADD FIELD reason text NOT NULL',
        eventId: randomUUID(),
        recordedAt,
        upcasters: throwing,
      })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(AevonError);
    expect((error as AevonError).code).toBe('AEV_MIGRATION_INVALID');
    expect(JSON.stringify((error as AevonError).details)).toContain('cannot read this one');
    expect(await storage.headPosition()).toBe(head);
    expect((await store.loadDefinitions()).version).toBe(1);
    expect((await store.readRow('account', 1))?.name).toBe('renamed');
  });

  it('reads a row by key: an unknown aggregate is AEV_NOT_FOUND, a key of the wrong type finds nothing', async () => {
    const { store } = await seeded(tempPath());
    expect((await store.readRow('account', 1))?.id).toBe(1);
    // Keys are canonical values: the integer 1, not the text "1".
    expect(await store.readRow('account', '1')).toBeNull();
    expect(await store.readRow('account', 'one')).toBeNull();
    expect(await store.readRow('account', 3)).toBeNull();
    expect(await codeOf(store.readRow('nothing', 1))).toBe('AEV_NOT_FOUND');
  });

  it('serializes writers on two connections: generated keys never repeat', async () => {
    const path = tempPath();
    const a = await seeded(path, 0);
    const b = open(path);
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 10; i += 1) {
      const store = i % 2 === 0 ? a.store : b.store;
      writes.push(
        write(store, 'account_events', 'account_created', seedAccountCreatedBody).then((w) =>
          store.appendTyped(w),
        ),
      );
    }
    await Promise.all(writes);
    const ids = (await query(a.store, 'SELECT id FROM account ORDER BY id')).rows.map((r) => r.id);
    expect(ids).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(await b.store.readChanges({ after: null, limit: 100 })).toHaveLength(20);
  });

  it('refuses aggregates SQLite cannot tell apart by case', async () => {
    const { store } = open(tempPath());
    await define(store, 'CREATE AGGREGATE account (id integer PRIMARY KEY)');
    expect(
      await codeOf(
        store.changeDefinitions({
          ddl: 'CREATE AGGREGATE "Account" (id integer PRIMARY KEY)',
          eventId: randomUUID(),
          recordedAt,
          upcasters: noUpcasters,
        }),
      ),
    ).toBe('AEV_DDL_INVALID');
    expect((await store.loadDefinitions()).version).toBe(1);
  });
});
