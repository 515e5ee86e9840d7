// Goal: the PostgreSQL aggregate store's own guarantees, beyond the shared contract: real tables with PostgreSQL's
// types, keys that stay distinct under concurrent writers on several pools (as several processes would), definition
// changes that serialize with writers, a SQL sandbox that holds even without the static check, statement timeouts,
// and a change feed that respects the watermark.
// Method: a fresh schema per test in one test database; writers are separate storages (own pools) on one schema.
import type { RecordedEvent } from '@aevon/core';
import type { AggregateStore, DefinitionsState, Row, TypedWrite } from '@aevon/ddl';
import { replayRows, validateEventInput } from '@aevon/ddl';
import { isAevonError } from '@aevon/core';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { freshSchemas } from '../../../../test/support/postgres.js';
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
    const storage = await createPostgresStorage({ connectionString: url, schema, poolMax: 4 });
    storages.push(storage);
    const options = readVisibilityWaitMs === undefined ? {} : { readVisibilityWaitMs };
    return { storage, store: await createPostgresAggregateStore(storage, options) };
  };
  cleanups.push(async () => {
    for (const storage of storages) await storage.close();
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
): TypedWrite {
  const validated = validateEventInput(state, {
    stream: 'account_events',
    eventType,
    body,
    pathValues,
    now,
    randomUuid: uuid,
  });
  return {
    definitionsVersion: state.version,
    stream: validated.stream,
    eventType: validated.eventType,
    schemaVersion: validated.schemaVersion,
    data: validated.data,
    keysToGenerate: validated.keysToGenerate,
    expected: 'any',
    id: uuid(),
    metadata: {},
    occurredAt: now,
    recordedAt: now,
    correlationId: null,
    causationId: null,
  };
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
      store.query({ sql: 'SELECT pg_sleep(5)', params: [], rowsMax: 1, timeoutMs: 100 }),
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
});
