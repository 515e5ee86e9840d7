// Goal: the PostgreSQL aggregate store's own guarantees, beyond the shared contract: real tables with PostgreSQL's
// types, keys that stay distinct under concurrent writers on several pools (as several processes would), definition
// changes that serialize with writers, a SQL sandbox that holds even without the static check, statement timeouts,
// and a change feed that respects the watermark.
// Method: a fresh schema per test in one test database; writers are separate storages (own pools) on one schema.
import type { RecordedEvent } from '@aevon/core';
import type { AggregateStore, DefinitionsState, Row, TypedWrite } from '@aevon/ddl';
import { replayRows, toTypedWrite, validateEventInput } from '@aevon/ddl';
import { isAevonError } from '@aevon/core';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { freshSchemas } from '../../../../test/support/postgres.js';
import { dropAggregateSchemaAndRole } from '../../../../test/support/postgres-aggregates.js';
import type { PostgresStorage } from '../postgres-storage.js';
import { createPostgresStorage } from '../postgres-storage.js';
import { aggregateNamesOf } from './aggregate-tables.js';
import { createPostgresAggregateStore } from './postgres-aggregate-store.js';
import { executeReadOnlyQuery } from './sql-query.js';

const nextSchema = freshSchemas('pgagg');
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const seedDdl = `
CREATE AGGREGATE account (
    id          SERIAL PRIMARY KEY,
    name        varchar(40) NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT NOW(),
);
CREATE AGGREGATE billing_contact (
    id          SERIAL PRIMARY KEY,
    first_name  varchar(40) NOT NULL,
    last_name   varchar(40),
    account_id  references account(id)
);
CREATE EVENT_TYPE account_created (
    id                  creates account(id),
    name                updates account(name),
    created_at          updates account(created_at),
    billing_id          creates billing_contact(id)
    billing_first_name  updates billing_contact(first_name)
    billing_last_name   updates billing_contact(last_name)
    send_notification   boolean NOT NULL,
);
CREATE EVENT_TYPE account_name_updated (
    id                  references account(id),
    name                updates account(name),
);
CREATE STREAM account_events (
    path         "/accounts/{id}"
    event_types  (account_created, account_name_updated)
)`;

let counter = 0;
function uuid(): string {
  counter += 1;
  return `00000000-0000-4000-8000-${counter.toString(16).padStart(12, '0')}`;
}
const now = '2026-11-26T04:00:00.000Z';

interface Setup {
  readonly url: string;
  readonly schema: string;
  readonly storage: PostgresStorage;
  readonly store: AggregateStore;
  /** Another storage and store on the same schema with its own pool, as another process would have. */
  readonly another: () => Promise<AggregateStore>;
}

async function setUp(ddl = seedDdl, readVisibilityWaitMs?: number): Promise<Setup> {
  const { url, schema, drop } = await nextSchema();
  const storages: PostgresStorage[] = [];
  const open = async (): Promise<{ storage: PostgresStorage; store: AggregateStore }> => {
    const storage = await createPostgresStorage({
      connectionString: url,
      schema,
      poolMax: 4,
      readVisibilityWaitMs: 30_000,
    });
    storages.push(storage);
    const options = readVisibilityWaitMs === undefined ? {} : { readVisibilityWaitMs };
    return { storage, store: await createPostgresAggregateStore(storage, options) };
  };
  cleanups.push(async () => {
    for (const storage of storages) await storage.close();
    await dropAggregateSchemaAndRole(url, schema);
    await drop();
  });
  const { storage, store } = await open();
  if (ddl !== '') {
    await store.changeDefinitions({
      ddl,
      eventId: uuid(),
      recordedAt: now,
      upcasters: new Map(),
    });
  }
  return {
    url,
    schema,
    storage,
    store,
    another: async () => (await open()).store,
  };
}

function typedWrite(
  state: DefinitionsState,
  eventType: string,
  body: Record<string, unknown>,
  pathValues: readonly string[] = [],
  stream = 'account_events',
): TypedWrite {
  const validated = validateEventInput(state, {
    stream,
    eventType,
    body,
    pathValues,
    now,
    randomUuid: uuid,
  });
  return toTypedWrite(validated, {
    definitionsVersion: state.version,
    expected: 'any',
    id: uuid(),
    at: now,
  });
}

/** Every event of the log, in order. */
async function wholeLog(storage: PostgresStorage): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  for (;;) {
    const last = events[events.length - 1];
    const page = await storage.readAll({
      start: last?.position ?? null,
      startExclusive: true,
      end: null,
      endExclusive: false,
      limit: 1000,
      direction: 'forward',
    });
    events.push(...page);
    if (page.length < 1000) return events;
  }
}

/** The rows of every aggregate table, keyed as the reference model keys them. */
async function tablesOf(
  store: AggregateStore,
  state: DefinitionsState,
): Promise<Map<string, Map<string, Row>>> {
  const tables = new Map<string, Map<string, Row>>();
  for (const [name, definition] of state.catalog.aggregates) {
    const key = definition.columns.find((c) => c.primaryKey === true)?.name ?? '';
    const result = await store.query({
      sql: `SELECT * FROM "${name}"`,
      params: [],
      rowsMax: 10_000,
      timeoutMs: 10_000,
    });
    tables.set(name, new Map(result.rows.map((row) => [JSON.stringify(row[key]), row])));
  }
  return tables;
}

/** A query that runs for minutes: a cross join of two ten-million-row series. */
const slowSql =
  'SELECT count(*) AS n FROM generate_series(1, 10000000) a, generate_series(1, 10000000) b';

const created = (name: string): Record<string, unknown> => ({
  name,
  billing_first_name: 'Bob',
  billing_last_name: 'Test',
  send_notification: true,
});

describe('PostgreSQL aggregate store', () => {
  it('keeps aggregates as real tables with PostgreSQL types in <schema>_aggregates', async () => {
    // Given
    const { url, schema, store } = await setUp();
    const state = await store.loadDefinitions();
    // When
    const result = await store.appendTyped(
      typedWrite(state, 'account_created', created('test account')),
    );
    // Then
    expect(result.created).toEqual({ id: 1, billing_id: 1 });
    expect(result.event.stream).toBe('/accounts/1');
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const columns = await client.query<{
        column_name: string;
        data_type: string;
        is_nullable: string;
      }>(
        `SELECT column_name, format_type(atttypid, atttypmod) AS data_type, is_nullable
         FROM information_schema.columns c
         JOIN pg_attribute a ON a.attrelid = format('%I.%I', c.table_schema, c.table_name)::regclass
           AND a.attname = c.column_name
         WHERE table_schema = $1 AND table_name = 'account' ORDER BY ordinal_position`,
        [`${schema}_aggregates`],
      );
      expect(columns.rows).toEqual([
        { column_name: 'id', data_type: 'integer', is_nullable: 'NO' },
        { column_name: 'name', data_type: 'character varying(40)', is_nullable: 'NO' },
        { column_name: 'created_at', data_type: 'timestamp with time zone', is_nullable: 'NO' },
      ]);
    } finally {
      await client.end();
    }
    expect(await store.readRow('account', 1)).toEqual({
      id: 1,
      name: 'test account',
      created_at: '2026-11-26T04:00:00Z',
    });
  });

  it('gives distinct keys to concurrent creates from several pools and loses no row', async () => {
    // Given: three stores on one schema, each with its own pool
    const setup = await setUp();
    const stores = [setup.store, await setup.another(), await setup.another()];
    const state = await setup.store.loadDefinitions();
    // When: 60 creates race, 20 per store
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        (stores[i % 3] as AggregateStore).appendTyped(
          typedWrite(state, 'account_created', created(`account ${i}`)),
        ),
      ),
    );
    // Then
    const ids = results.map((r) => r.created['id']);
    expect(new Set(ids).size).toBe(60);
    expect([...ids].sort((a, b) => Number(a) - Number(b))).toEqual(
      Array.from({ length: 60 }, (_, i) => i + 1),
    );
    const count = await setup.store.query({
      sql: 'SELECT count(*) AS n, max(id) AS top FROM account',
      params: [],
      rowsMax: 10,
      timeoutMs: 5000,
    });
    expect(count.rows).toEqual([{ n: 60, top: 60 }]);
  });

  it('refuses a stale write after a definitions change from another process', async () => {
    // Given
    const setup = await setUp();
    const other = await setup.another();
    const state = await setup.store.loadDefinitions();
    // When: another process changes the definitions
    await other.changeDefinitions({
      ddl: 'ALTER AGGREGATE account ADD COLUMN nickname text',
      eventId: uuid(),
      recordedAt: now,
      upcasters: new Map(),
    });
    // Then
    expect.assertions(2);
    try {
      await setup.store.appendTyped(typedWrite(state, 'account_created', created('late')));
    } catch (error) {
      expect(isAevonError(error, 'AEV_DEFINITIONS_CHANGED')).toBe(true);
      expect((error as { details: unknown }).details).toEqual({ expected: 1, actual: 2 });
    }
  });

  it('runs a query in a sandbox that cannot read the event log even without the static check', async () => {
    // Given
    const setup = await setUp();
    const database = new URL(setup.url).pathname.slice(1);
    const names = aggregateNamesOf(database, setup.schema);
    // When / Then
    await expect(
      executeReadOnlyQuery(setup.storage.pool, names, {
        sql: `SELECT * FROM ${setup.schema}.events`,
        params: [],
        rowsMax: 10,
        timeoutMs: 5000,
      }),
    ).rejects.toMatchObject({
      code: 'AEV_SQL_INVALID',
      details: { reason: expect.stringMatching(/permission denied/) },
    });
  });

  it('serializes a definitions change with racing writers: each write lands before it or fails, and replay agrees', async () => {
    // Given: writers on two other pools and some rows already
    const setup = await setUp();
    const writers = [await setup.another(), await setup.another()];
    const state = await setup.store.loadDefinitions();
    for (let i = 0; i < 5; i++) {
      await setup.store.appendTyped(typedWrite(state, 'account_created', created(`before ${i}`)));
    }
    // When: 40 writes (creates and renames) race a rebuilding change
    const writes = Array.from({ length: 40 }, (_, i) =>
      (writers[i % 2] as AggregateStore).appendTyped(
        i % 3 === 0
          ? typedWrite(state, 'account_name_updated', { name: `renamed ${i}` }, [
              String((i % 5) + 1),
            ])
          : typedWrite(state, 'account_created', created(`racing ${i}`)),
      ),
    );
    const change = setup.store.changeDefinitions({
      ddl: "ALTER AGGREGATE account ADD COLUMN tier text DEFAULT 'basic'",
      eventId: uuid(),
      recordedAt: now,
      upcasters: new Map(),
    });
    const outcomes = await Promise.allSettled(writes);
    const { event: changeEvent, rebuilt, state: after } = await change;
    // Then: a write either committed before the change (by position) or was refused as stale
    expect(rebuilt).toEqual(['account']);
    for (const outcome of outcomes) {
      if (outcome.status === 'fulfilled') {
        expect(outcome.value.event.position < changeEvent.position).toBe(true);
      } else {
        expect(isAevonError(outcome.reason, 'AEV_DEFINITIONS_CHANGED')).toBe(true);
      }
    }
    // And the tables equal a replay of the whole log under the new definitions
    const replayed = replayRows(after, await wholeLog(setup.storage), new Map());
    expect(await tablesOf(setup.store, after)).toEqual(replayed);
    expect(
      [...(replayed.get('account')?.values() ?? [])].every((row) => row['tier'] === 'basic'),
    ).toBe(true);
  });

  it('stops a query at its statement timeout', async () => {
    // Given
    const { store } = await setUp();
    // When / Then
    await expect(
      store.query({ sql: slowSql, params: [], rowsMax: 1, timeoutMs: 100 }),
    ).rejects.toMatchObject({ code: 'AEV_SQL_TIMEOUT', details: { timeoutMs: 100 } });
    // And the pooled connection is healthy afterwards
    const after = await store.query({
      sql: 'SELECT 1 AS one',
      params: [],
      rowsMax: 1,
      timeoutMs: 1000,
    });
    expect(after.rows).toEqual([{ one: 1 }]);
  });

  it('holds changes back in the feed while an older transaction is open, and releases them after', async () => {
    // Given: a store that never waits for freshness, and an older transaction holding an id
    const setup = await setUp(seedDdl, 0);
    const state = await setup.store.loadDefinitions();
    const first = await setup.store.appendTyped(
      typedWrite(state, 'account_created', created('first')),
    );
    const older = new pg.Client({ connectionString: setup.url });
    await older.connect();
    try {
      await older.query('BEGIN');
      await older.query('SELECT pg_current_xact_id()');
      // When: a later write commits while the older transaction is open
      const second = await setup.store.appendTyped(
        typedWrite(state, 'account_created', created('second')),
      );
      const held = await setup.store.readChanges({ after: first.event.position, limit: 100 });
      await older.query('ROLLBACK');
      const released = await setup.store.readChanges({ after: first.event.position, limit: 100 });
      // Then
      expect(held).toEqual([]);
      expect(released.map((c) => [c.aggregate, c.operation, c.key])).toEqual([
        ['account', 'insert', 2],
        ['billing_contact', 'insert', 2],
      ]);
      expect(released.every((c) => c.position === second.event.position)).toBe(true);
      expect(released).toEqual(second.changes);
    } finally {
      await older.end();
    }
  });

  it('reads every column type back in the canonical form the event holds, in any session time zone', async () => {
    // Given: new sessions of the test database default to a zone with a half-hour offset
    const { url } = await nextSchema();
    const database = decodeURIComponent(new URL(url).pathname.slice(1));
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`ALTER DATABASE "${database}" SET TimeZone = 'Asia/Kolkata'`);
    cleanups.push(async () => {
      await admin.query(`ALTER DATABASE "${database}" RESET TimeZone`);
      await admin.end();
    });
    const { store } = await setUp(`
      CREATE AGGREGATE sample (
        id bigserial PRIMARY KEY, code char(5), label varchar(10) UNIQUE, amount numeric(10,2), ratio real,
        score double precision, flag boolean, day date, at_local timestamp(3), at_utc timestamptz, ref uuid,
        doc jsonb, tags text[], small smallint, big bigint, stamps timestamptz[]
      );
      CREATE EVENT_TYPE sample_created (
        id creates sample(id), code updates sample(code), label updates sample(label),
        amount updates sample(amount), ratio updates sample(ratio), score updates sample(score),
        flag updates sample(flag), day updates sample(day), at_local updates sample(at_local),
        at_utc updates sample(at_utc), ref updates sample(ref), doc updates sample(doc), tags updates sample(tags),
        small updates sample(small), big updates sample(big), stamps updates sample(stamps)
      );
      CREATE STREAM samples (path "/samples/{id}", event_types (sample_created))`);
    const state = await store.loadDefinitions();
    const write = typedWrite(
      state,
      'sample_created',
      {
        code: 'ab',
        label: 'x',
        amount: '12.5',
        ratio: 0.1,
        score: 1e-7,
        flag: true,
        day: '2024-02-29',
        at_local: '2024-01-31T12:00:00.1234',
        at_utc: '2024-01-31T23:30:00+05:30',
        ref: 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11',
        doc: { a: [1, { b: null }], c: 'ü' },
        tags: ['a b', 'c"d', null, 'NULL', 'x,y'],
        small: -3,
        big: '9007199254740993',
        stamps: ['2024-01-01T00:00:00Z', null],
      },
      [],
      'samples',
    );
    // When
    const result = await store.appendTyped(write);
    // Then: the row, the query result and the change feed all hold the event's canonical values
    const expected = { ...write.data, id: 1 };
    expect(expected).toMatchObject({
      code: 'ab   ',
      amount: '12.50',
      at_local: '2024-01-31T12:00:00.123',
      at_utc: '2024-01-31T18:00:00Z',
      ref: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
      big: '9007199254740993',
    });
    expect(await store.readRow('sample', 1)).toEqual(expected);
    const queried = await store.query({
      sql: 'SELECT * FROM sample',
      params: [],
      rowsMax: 10,
      timeoutMs: 5000,
    });
    expect(queried.rows).toEqual([expected]);
    expect(queried.columns.map((c) => c.type)).toEqual([
      'bigint',
      'char(5)',
      'varchar(10)',
      'numeric(10,2)',
      'real',
      'double precision',
      'boolean',
      'date',
      'timestamp(3)',
      'timestamptz',
      'uuid',
      'jsonb',
      'text[]',
      'smallint',
      'bigint',
      'timestamptz[]',
    ]);
    expect(result.changes).toEqual([
      expect.objectContaining({
        aggregate: 'sample',
        key: 1,
        operation: 'insert',
        before: null,
        after: expected,
      }),
    ]);
    expect(await store.readChanges({ after: null, limit: 10 })).toEqual(result.changes);
    // And parameters of every type compare with the stored values
    const matched = await store.query({
      sql: 'SELECT id FROM sample WHERE at_utc = $1 AND amount = $2 AND tags = $3 AND doc = $4 AND day = $5',
      params: [
        '2024-01-31T18:00:00Z',
        '12.50',
        ['a b', 'c"d', null, 'NULL', 'x,y'],
        { a: [1, { b: null }], c: 'ü' },
        '2024-02-29',
      ],
      rowsMax: 10,
      timeoutMs: 5000,
    });
    expect(matched.rows).toEqual([{ id: 1 }]);
  });

  it('orders racing renames of one UNIQUE column so that a replay of the log meets no conflict', async () => {
    // Goal: positions are transaction ids, taken before a write applies; if a write could take its id and then
    // apply after a later id's write, a replay in position order would see a handle taken that was free at the time.
    // Method: 90 renames over 4 members and 6 handles race from three pools; every outcome is a success or a unique
    // conflict, and replayRows (which asserts on any conflict) must rebuild exactly the tables.
    const setup = await setUp(`
      CREATE AGGREGATE member (id SERIAL PRIMARY KEY, handle varchar(20) UNIQUE, visits integer);
      CREATE EVENT_TYPE member_joined (id creates member(id), handle updates member(handle));
      CREATE EVENT_TYPE member_renamed (id references member(id), handle updates member(handle));
      CREATE STREAM members (path "/members/{id}", event_types (member_joined, member_renamed))`);
    const stores = [setup.store, await setup.another(), await setup.another()];
    const state = await setup.store.loadDefinitions();
    for (let i = 1; i <= 4; i++) {
      await setup.store.appendTyped(
        typedWrite(state, 'member_joined', { handle: `h${i}` }, [], 'members'),
      );
    }
    let seed = 7;
    const next = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    // When
    const outcomes = await Promise.allSettled(
      Array.from({ length: 90 }, (_, i) =>
        (stores[i % 3] as AggregateStore).appendTyped(
          typedWrite(
            state,
            'member_renamed',
            { handle: `h${next(6) + 1}` },
            [String(next(4) + 1)],
            'members',
          ),
        ),
      ),
    );
    // Then
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') {
        expect(outcome.reason).toMatchObject({
          code: 'AEV_AGGREGATE_CONFLICT',
          details: { aggregate: 'member', column: 'handle', constraint: 'unique' },
        });
      }
    }
    expect(outcomes.some((o) => o.status === 'fulfilled')).toBe(true);
    const replayed = replayRows(state, await wholeLog(setup.storage), new Map());
    expect(await tablesOf(setup.store, state)).toEqual(replayed);
    // And the change feed replays to the same rows
    const feed = await setup.store.readChanges({ after: null, limit: 1000 });
    const fromFeed = new Map<string, Row>();
    for (const change of feed) fromFeed.set(JSON.stringify(change.key), change.after);
    expect(fromFeed).toEqual(replayed.get('member'));
  });

  it('answers database refusals with AEV_SQL_INVALID and PostgreSQL message, never a storage error', async () => {
    // Given
    const { store } = await setUp();
    const cases: [string, readonly unknown[], RegExp][] = [
      ['SELECT 1 / 0 AS x', [], /division by zero/],
      ["SELECT 'abc'::integer AS x", [], /invalid input syntax/],
      ['SELECT nope FROM account', [], /column "nope" does not exist/],
      ['SELECT * FROM account WHERE id = $1', ['not a number'], /invalid input syntax/],
      ['SELECT * FROM account WHERE name = 1', [], /operator does not exist/],
      ['SELECT (SELECT id FROM generate_series(1, 2) AS id) AS x', [], /more than one row/],
    ];
    for (const [sql, params, message] of cases) {
      // When / Then
      await expect(
        store.query({ sql, params: params as never, rowsMax: 10, timeoutMs: 5000 }),
        sql,
      ).rejects.toMatchObject({
        code: 'AEV_SQL_INVALID',
        details: { reason: expect.stringMatching(message) },
      });
    }
  });

  it('returns results of types no aggregate has as plain JSON, with a null type', async () => {
    // Given
    const { store } = await setUp();
    // When
    const result = await store.query({
      sql: `SELECT ARRAY[[1, 2], [3, 4]] AS grid, interval '1 day 2 hours' AS span, '{"a": 1}'::json AS doc,
              1.5::numeric AS n, NULL AS nothing, ROW(1, 'x') AS pair`,
      params: [],
      rowsMax: 10,
      timeoutMs: 5000,
    });
    // Then
    expect(result.rows).toEqual([
      {
        grid: [
          [1, 2],
          [3, 4],
        ],
        span: '1 day 02:00:00',
        doc: { a: 1 },
        n: '1.5',
        nothing: null,
        pair: '(1,x)',
      },
    ]);
    expect(result.columns.every((c) => c.type === null)).toBe(true);
  });

  it('keeps a write out of the sandbox even without the static check', async () => {
    // Given
    const setup = await setUp();
    const state = await setup.store.loadDefinitions();
    await setup.store.appendTyped(typedWrite(state, 'account_created', created('kept')));
    const database = decodeURIComponent(new URL(setup.url).pathname.slice(1));
    const names = aggregateNamesOf(database, setup.schema);
    const run = (sql: string) =>
      executeReadOnlyQuery(setup.storage.pool, names, {
        sql,
        params: [],
        rowsMax: 10,
        timeoutMs: 5000,
      });
    // When / Then
    await expect(
      run('WITH d AS (DELETE FROM account RETURNING *) SELECT * FROM d'),
    ).rejects.toMatchObject({
      code: 'AEV_SQL_INVALID',
    });
    await expect(run(`SELECT * FROM ${setup.schema}.streams`)).rejects.toMatchObject({
      code: 'AEV_SQL_INVALID',
      details: { reason: expect.stringMatching(/permission denied/) },
    });
    await expect(run('SELECT * FROM account FOR UPDATE')).rejects.toMatchObject({
      code: 'AEV_SQL_INVALID',
    });
    expect((await run('SELECT name FROM account')).rows).toEqual([{ name: 'kept' }]);
  });

  it('lets another process see a definitions change, and refuses a store on an unmigrated schema with migrate: false', async () => {
    // Given
    const setup = await setUp();
    const other = await setup.another();
    expect((await other.loadDefinitions()).version).toBe(1);
    // When
    await setup.store.changeDefinitions({
      ddl: 'CREATE AGGREGATE tag (name text PRIMARY KEY)',
      eventId: uuid(),
      recordedAt: now,
      upcasters: new Map(),
    });
    // Then
    const seen = await other.loadDefinitions();
    expect(seen.version).toBe(2);
    expect(seen.catalog.aggregates.has('tag')).toBe(true);
    const { url, schema, drop } = await nextSchema();
    const storage = await createPostgresStorage({ connectionString: url, schema, poolMax: 2 });
    cleanups.push(async () => {
      await storage.close();
      await drop();
    });
    await expect(createPostgresAggregateStore(storage, { migrate: false })).rejects.toMatchObject({
      code: 'AEV_STORAGE_SCHEMA_MISMATCH',
    });
  });

  it('keeps one stream in the same order by revision and by position under racing typed writes', async () => {
    // Goal: a reader of the global log sees each stream's events in revision order. Writes that only read an
    // aggregate (a `references` field) run in parallel, so the stream, not the aggregate, must order them.
    const setup = await setUp(`${seedDdl};
      CREATE EVENT_TYPE account_noted (id references account(id), note text);
      ALTER STREAM account_events ADD EVENT_TYPE account_noted`);
    const stores = [setup.store, await setup.another(), await setup.another()];
    const state = await setup.store.loadDefinitions();
    await setup.store.appendTyped(typedWrite(state, 'account_created', created('noted')));
    // When
    await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        (stores[i % 3] as AggregateStore).appendTyped(
          typedWrite(state, 'account_noted', { note: `note ${i}` }, ['1']),
        ),
      ),
    );
    // Then
    const stream = (await wholeLog(setup.storage)).filter((e) => e.stream === '/accounts/1');
    expect(stream).toHaveLength(61);
    expect(stream.map((e) => e.revision)).toEqual(Array.from({ length: 61 }, (_, i) => BigInt(i)));
  });

  it('waits in the feed for an older transaction to end, so that a writer reads its own fresh changes', async () => {
    // Given: a store that may wait long, and an older open transaction holding the watermark back
    const setup = await setUp(seedDdl, 30_000);
    const state = await setup.store.loadDefinitions();
    const older = new pg.Client({ connectionString: setup.url });
    await older.connect();
    try {
      await older.query('BEGIN');
      await older.query('SELECT pg_current_xact_id()');
      const written = await setup.store.appendTyped(
        typedWrite(state, 'account_created', created('fresh')),
      );
      // When: the read starts while the older transaction is open, which then ends
      const read = setup.store.readChanges({ after: null, limit: 100 });
      await older.query('ROLLBACK');
      // Then
      expect(await read).toEqual(written.changes);
    } finally {
      await older.end();
    }
  });

  it('keeps tables equal to a replay of the log under a random concurrent mix of writes across aggregates', async () => {
    // Goal: the lock order holds for every kind of write at once: creates with generated and explicit keys, renames,
    // and links whose REFERENCES column names an account that may be created concurrently or not at all.
    // Method: 150 seeded random writes race from three pools; each fails only with an aggregate conflict, and the
    // tables, the log replayed by the reference model, and the change feed agree.
    const setup = await setUp(`${seedDdl};
      CREATE EVENT_TYPE contact_linked (billing_id references billing_contact(id),
        account_id updates billing_contact(account_id));
      CREATE STREAM contacts (path "/contacts/{billing_id}" event_types (contact_linked))`);
    const stores = [setup.store, await setup.another(), await setup.another()];
    const state = await setup.store.loadDefinitions();
    for (let i = 0; i < 5; i++) {
      await setup.store.appendTyped(typedWrite(state, 'account_created', created(`seeded ${i}`)));
    }
    let seed = 42;
    const pick = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const writes = Array.from({ length: 150 }, (_, i): TypedWrite => {
      switch (pick(4)) {
        case 0:
          return typedWrite(state, 'account_created', created(`racer ${i}`));
        case 1:
          return typedWrite(state, 'account_created', {
            ...created(`explicit ${i}`),
            id: 20 + pick(20),
            billing_id: 20 + pick(20),
          });
        case 2:
          return typedWrite(state, 'account_name_updated', { name: `renamed ${i}` }, [
            String(1 + pick(5)),
          ]);
        default:
          return typedWrite(
            state,
            'contact_linked',
            { account_id: 1 + pick(40) },
            [String(1 + pick(40))],
            'contacts',
          );
      }
    });
    // When
    const outcomes = await Promise.allSettled(
      writes.map((write, i) => (stores[i % 3] as AggregateStore).appendTyped(write)),
    );
    // Then
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') {
        expect(outcome.reason).toMatchObject({ code: 'AEV_AGGREGATE_CONFLICT' });
      }
    }
    expect(outcomes.filter((o) => o.status === 'fulfilled').length).toBeGreaterThan(0);
    const replayed = replayRows(state, await wholeLog(setup.storage), new Map());
    expect(await tablesOf(setup.store, state)).toEqual(replayed);
    const fromFeed = new Map<string, Map<string, Row>>();
    for (const change of await setup.store.readChanges({ after: null, limit: 10_000 })) {
      const rows = fromFeed.get(change.aggregate) ?? new Map<string, Row>();
      rows.set(JSON.stringify(change.key), change.after);
      fromFeed.set(change.aggregate, rows);
    }
    for (const [aggregate, rows] of replayed)
      expect(fromFeed.get(aggregate) ?? new Map()).toEqual(rows);
  });

  it('runs as a storage user that is no superuser: with CREATEROLE it makes its reader role, without it says what to do', async () => {
    // Given: two login roles owning nothing, one with CREATEROLE, each with CREATE on the test database
    const { url, schema, drop } = await nextSchema();
    const database = decodeURIComponent(new URL(url).pathname.slice(1));
    const suffix = `${process.pid}_${Math.floor(Math.random() * 1e9)}`;
    const withRole = `aevon_test_owner_${suffix}`;
    const without = `aevon_test_plain_${suffix}`;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    cleanups.push(async () => {
      for (const role of [withRole, without]) {
        await admin.query(`DROP OWNED BY "${role}"`);
        await admin.query(`DROP ROLE "${role}"`);
      }
      await admin.end();
      await drop();
    });
    await admin.query(`CREATE ROLE "${withRole}" LOGIN CREATEROLE PASSWORD 'aevon-test'`);
    await admin.query(`CREATE ROLE "${without}" LOGIN PASSWORD 'aevon-test'`);
    await admin.query(`GRANT CREATE ON DATABASE "${database}" TO "${withRole}", "${without}"`);
    const urlAs = (role: string): string => {
      const as = new URL(url);
      as.username = role;
      as.password = 'aevon-test';
      return as.toString();
    };
    // When: the CREATEROLE user opens a store and queries
    const ownerSchema = `${schema}_owner`;
    const owner = await createPostgresStorage({
      connectionString: urlAs(withRole),
      schema: ownerSchema,
      poolMax: 2,
    });
    cleanups.push(async () => {
      await owner.close();
      await dropAggregateSchemaAndRole(url, ownerSchema);
    });
    const store = await createPostgresAggregateStore(owner);
    await store.changeDefinitions({
      ddl: seedDdl,
      eventId: uuid(),
      recordedAt: now,
      upcasters: new Map(),
    });
    const state = await store.loadDefinitions();
    await store.appendTyped(typedWrite(state, 'account_created', created('owned')));
    // Then
    const rows = await store.query({
      sql: 'SELECT name FROM account',
      params: [],
      rowsMax: 10,
      timeoutMs: 5000,
    });
    expect(rows.rows).toEqual([{ name: 'owned' }]);
    await expect(
      store.query({
        sql: `SELECT * FROM ${ownerSchema}.events`,
        params: [],
        rowsMax: 10,
        timeoutMs: 5000,
      }),
    ).rejects.toMatchObject({ code: 'AEV_SQL_INVALID' });
    // When: the plain user opens a store of its own
    const plainSchema = `${schema}_plain`;
    const plain = await createPostgresStorage({
      connectionString: urlAs(without),
      schema: plainSchema,
      poolMax: 2,
    });
    cleanups.push(async () => {
      await plain.close();
      await dropAggregateSchemaAndRole(url, plainSchema);
    });
    // Then: it is told which role to create
    const names = aggregateNamesOf(database, plainSchema);
    await expect(createPostgresAggregateStore(plain)).rejects.toMatchObject({
      code: 'AEV_CONFIG_INVALID',
      details: { reason: expect.stringContaining(`CREATE ROLE ${names.readerRole} NOLOGIN`) },
    });
    // And once an administrator has, it works
    await admin.query(`CREATE ROLE "${names.readerRole}" NOLOGIN NOINHERIT`);
    await admin.query(`GRANT "${names.readerRole}" TO "${without}"`);
    const plainStore = await createPostgresAggregateStore(plain);
    await plainStore.changeDefinitions({
      ddl: seedDdl,
      eventId: uuid(),
      recordedAt: now,
      upcasters: new Map(),
    });
    const result = await plainStore.query({
      sql: 'SELECT count(*) AS n FROM account',
      params: [],
      rowsMax: 1,
      timeoutMs: 5000,
    });
    expect(result.rows).toEqual([{ n: 0 }]);
  });
});
