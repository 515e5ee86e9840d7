// The contract every AggregateStore passes (packages/ddl/src/store/aggregate-store.ts): definitions in the log,
// typed writes that change the log and the aggregate tables together or not at all, the change feed, and read-only
// SQL over the aggregate tables. Each engine runs it on a fresh database per test:
//   aggregateStoreContract('sqlite (file)', async () => ({ store, storage, dispose }))
// Engine-specific checks (how the SQL guard works, how a timeout stops a query) stay in the engine's own tests.
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ExpectedRevision, RecordedEvent, Storage } from '@aevon/core';
import { AevonError } from '@aevon/core';
import type {
  AggregateStore,
  DefinitionsState,
  Row,
  TypedWrite,
  Upcasters,
  Value,
} from '@aevon/ddl';
import {
  definitionsEventType,
  definitionsStream,
  keyJson,
  replayRows,
  toTypedWrite,
  validateEventInput,
} from '@aevon/ddl';
import {
  accountAggregate,
  accountCreatedEventType,
  accountEventsStream,
  accountNameUpdatedEventType,
  billingContactAggregate,
  eventdExamples,
} from '../../packages/ddl/src/eventd-examples.fixture.js';

/** What a contract test gets: a store on a fresh database, and the event log it writes to. */
export interface AggregateStoreFixture {
  readonly store: AggregateStore;
  /** The same log the store appends to (read only by the tests). */
  readonly storage: Storage;
  readonly dispose: () => Promise<void>;
}

/** The seed's DDL with its one semantic typo fixed: `billing_last_name` sets `last_name`. */
export const seedDdlFixed = [
  accountAggregate,
  billingContactAggregate,
  accountCreatedEventType.replace(
    'billing_last_name   updates billing_contact(first_name)',
    'billing_last_name   updates billing_contact(last_name)',
  ),
  accountNameUpdatedEventType,
  accountEventsStream,
].join(';\n');

/** The seed's first POST body (`POST /streams/account_events`, trailing comma dropped). */
export const seedAccountCreatedBody = {
  name: 'test account',
  billing_first_name: 'Bob',
  billing_last_name: 'Test',
  send_notification: true,
};

const noUpcasters: Upcasters = new Map();
const recordedAt = '2026-01-02T03:04:05.678Z';
const readPage = 1000;

async function expectCode(promise: Promise<unknown>, code: string): Promise<AevonError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error, `expected ${code}`).toBeInstanceOf(AevonError);
  expect((error as AevonError).code).toBe(code);
  return error as AevonError;
}

/** Every event of the log, in order. */
async function readLog(storage: Storage): Promise<RecordedEvent[]> {
  const events: RecordedEvent[] = [];
  for (;;) {
    const last = events[events.length - 1];
    const page = await storage.readAll({
      start: last === undefined ? null : last.position,
      startExclusive: last !== undefined,
      end: null,
      endExclusive: false,
      direction: 'forward',
      limit: readPage,
    });
    events.push(...page);
    if (page.length < readPage) return events;
  }
}

/**
 * Builds a TypedWrite as the engine does: `validateEventInput` against the current definitions, then the caller's
 * expectation and ids.
 */
async function typed(
  store: AggregateStore,
  stream: string,
  eventType: string,
  body: unknown,
  options: {
    pathValues?: readonly string[];
    expected?: ExpectedRevision;
    id?: string;
    state?: DefinitionsState;
  } = {},
): Promise<TypedWrite> {
  const state = options.state ?? (await store.loadDefinitions());
  const validated = validateEventInput(state, {
    stream,
    eventType,
    body,
    pathValues: options.pathValues ?? [],
    now: recordedAt,
    randomUuid: randomUUID,
  });
  return toTypedWrite(validated, {
    definitionsVersion: state.version,
    expected: options.expected ?? 'any',
    id: options.id ?? randomUUID(),
    at: recordedAt,
  });
}

async function define(
  store: AggregateStore,
  ddl: string,
  extra: {
    upcasters?: Upcasters;
    expectedVersion?: number;
    migration?: { name: string; checksum: string };
  } = {},
) {
  return store.changeDefinitions({
    ddl,
    eventId: randomUUID(),
    recordedAt,
    upcasters: extra.upcasters ?? noUpcasters,
    ...(extra.expectedVersion === undefined ? {} : { expectedVersion: extra.expectedVersion }),
    ...(extra.migration === undefined ? {} : { migration: extra.migration }),
  });
}

async function rowsOf(store: AggregateStore, aggregate: string, key: string): Promise<Row[]> {
  const result = await store.query({
    sql: `SELECT * FROM ${aggregate} ORDER BY ${key}`,
    params: [],
    rowsMax: 10_000,
    timeoutMs: 10_000,
  });
  return [...result.rows];
}

/** Everything a rejected write must leave as it was: the log, every table, the change feed. */
async function snapshot(fixture: AggregateStoreFixture, aggregates: readonly [string, string][]) {
  const tables: Record<string, Row[]> = {};
  for (const [aggregate, key] of aggregates)
    tables[aggregate] = await rowsOf(fixture.store, aggregate, key);
  return {
    head: await fixture.storage.headPosition(),
    tables,
    changes: await fixture.store.readChanges({ after: null, limit: 10_000 }),
  };
}

/** The tables as the reference model computes them from the log: aggregate → key JSON → row. */
async function expectTablesEqualReplay(
  fixture: AggregateStoreFixture,
  upcasters: Upcasters = noUpcasters,
): Promise<void> {
  const state = await fixture.store.loadDefinitions();
  const expected = replayRows(state, await readLog(fixture.storage), upcasters);
  for (const [aggregate, rows] of expected) {
    const definition = state.catalog.aggregates.get(aggregate);
    const key = definition?.columns.find((c) => c.primaryKey === true)?.name ?? '';
    const actual = await rowsOf(fixture.store, aggregate, key);
    const byKey = new Map(actual.map((row) => [keyJson(row[key] ?? null), row]));
    expect(byKey.size, `${aggregate} row count`).toBe(rows.size);
    for (const [json, row] of rows) expect(byKey.get(json), `${aggregate} ${json}`).toEqual(row);
  }
}

/** Runs the aggregate store contract against fresh stores from `factory`. */
export function aggregateStoreContract(
  name: string,
  factory: () => Promise<AggregateStoreFixture>,
): void {
  describe(`aggregate store contract: ${name}`, () => {
    let fixture: AggregateStoreFixture;
    let store: AggregateStore;
    beforeEach(async () => {
      fixture = await factory();
      store = fixture.store;
    });
    afterEach(async () => {
      await fixture.dispose();
    });

    describe('definitions', () => {
      it('starts empty, at version 0', async () => {
        const state = await store.loadDefinitions();
        expect(state.version).toBe(0);
        expect(state.catalog.aggregates.size).toBe(0);
      });

      it('applies the seed DDL, records it as a log event and creates its tables', async () => {
        const result = await define(store, eventdExamples.join(';\n'));
        expect(result.state.version).toBe(1);
        expect([...result.created].sort()).toEqual(['account', 'billing_contact']);
        expect(result.rebuilt).toEqual([]);
        expect(result.dropped).toEqual([]);
        expect(result.event.stream).toBe(definitionsStream);
        expect(result.event.type).toBe(definitionsEventType);
        expect(result.event.data).toMatchObject({ version: 1, ddl: eventdExamples.join(';\n') });
        // A normal log event: readAll sees it at its position.
        const log = await readLog(fixture.storage);
        expect(log.map((e) => e.id)).toEqual([result.event.id]);
        expect(log[0]?.position).toBe(result.event.position);
        const loaded = await store.loadDefinitions();
        expect(loaded.version).toBe(1);
        expect([...loaded.catalog.streams.keys()]).toEqual(['account_events']);
        expect(await rowsOf(store, 'account', 'id')).toEqual([]);
        // The seed's typo is reported, not refused.
        expect(result.warnings.length).toBeGreaterThan(0);
      });

      it('applies the seed examples one change at a time', async () => {
        for (const [index, ddl] of eventdExamples.entries()) {
          const result = await define(store, ddl, { expectedVersion: index });
          expect(result.state.version).toBe(index + 1);
        }
        expect((await store.loadDefinitions()).catalog.eventTypes.size).toBe(2);
      });

      it('refuses a stale expectedVersion with AEV_DEFINITIONS_CHANGED and writes nothing', async () => {
        await define(store, accountAggregate);
        const error = await expectCode(
          define(store, billingContactAggregate, { expectedVersion: 0 }),
          'AEV_DEFINITIONS_CHANGED',
        );
        expect(error.details).toEqual({ expected: 0, actual: 1 });
        expect(await readLog(fixture.storage)).toHaveLength(1);
        expect((await store.loadDefinitions()).catalog.aggregates.has('billing_contact')).toBe(
          false,
        );
      });

      it('refuses bad DDL with AEV_DDL_INVALID and writes nothing', async () => {
        await expectCode(define(store, 'CREATE AGGREGATE x ('), 'AEV_DDL_INVALID');
        await expectCode(define(store, 'DROP AGGREGATE missing'), 'AEV_DDL_INVALID');
        expect(await readLog(fixture.storage)).toHaveLength(0);
        expect((await store.loadDefinitions()).version).toBe(0);
      });

      it('records migrations and refuses one applied twice', async () => {
        const migration = { name: '0001_accounts.sql', checksum: 'abc' };
        await define(store, accountAggregate, { migration });
        const state = await store.loadDefinitions();
        expect(state.migrations.map((m) => [m.name, m.checksum, m.version])).toEqual([
          ['0001_accounts.sql', 'abc', 1],
        ]);
        expect(state.migrations[0]?.position).toBe((await readLog(fixture.storage))[0]?.position);
        await expectCode(
          define(store, billingContactAggregate, { migration }),
          'AEV_MIGRATION_INVALID',
        );
        expect(await readLog(fixture.storage)).toHaveLength(1);
      });

      it('accepts quoted names that need quoting in SQL', async () => {
        await define(
          store,
          `CREATE AGGREGATE "Odd ""name""" (id SERIAL PRIMARY KEY, "select" text, "Mixed Case" text);
           CREATE EVENT_TYPE odd_created (id creates "Odd ""name"""(id), "select" updates "Odd ""name"""("select"),
             "Mixed Case" updates "Odd ""name"""("Mixed Case"));
           CREATE STREAM odd (path "/odd/{id}" event_types (odd_created))`,
        );
        const result = await store.appendTyped(
          await typed(store, 'odd', 'odd_created', { select: 'x', 'Mixed Case': 'y' }),
        );
        expect(result.created).toEqual({ id: 1 });
        const row = { id: 1, select: 'x', 'Mixed Case': 'y' };
        expect(await store.readRow('Odd "name"', 1)).toEqual(row);
        expect(result.event.stream).toBe('/odd/1');
        const selected = await store.query({
          sql: 'SELECT id, "select", "Mixed Case" FROM "Odd ""name"""',
          params: [],
          rowsMax: 10,
          timeoutMs: 10_000,
        });
        expect(selected.rows).toEqual([row]);
      });
    });

    describe('values', () => {
      it('keeps every type exactly: readRow and SQL give the canonical form the event holds', async () => {
        await define(
          store,
          `CREATE AGGREGATE sample (
             id bigint PRIMARY KEY, small smallint, big bigint, amount numeric(30,10), ratio double precision,
             r real, flag boolean, label varchar(10), code char(4), body text, ref uuid, day date,
             at timestamp, at_tz timestamptz(3), doc jsonb, tags text[], scores integer[]
           );
           CREATE EVENT_TYPE sample_written (
             id creates sample(id), small updates sample(small), big updates sample(big),
             amount updates sample(amount), ratio updates sample(ratio), r updates sample(r),
             flag updates sample(flag), label updates sample(label), code updates sample(code),
             body updates sample(body), ref updates sample(ref), day updates sample(day), at updates sample(at),
             at_tz updates sample(at_tz), doc updates sample(doc), tags updates sample(tags),
             scores updates sample(scores)
           );
           CREATE STREAM samples (path "/samples/{id}" event_types (sample_written))`,
        );
        const bodies = [
          {
            id: '9007199254740993',
            small: -32768,
            big: '-9223372036854775808',
            amount: '12345678901234567890.0123456789',
            ratio: 0.1,
            r: 1.5,
            flag: false,
            label: 'ünïcødé',
            code: 'ab',
            body: 'quote \' and " and \\ and \n',
            ref: 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11',
            day: '2024-02-29',
            at: '2024-02-29T23:59:59.123456',
            at_tz: '2024-02-29T23:59:59.123Z',
            doc: { nested: [1, 'two', null, { deep: true }], n: 1.25 },
            tags: ['a', 'b,c', '"d"'],
            scores: [1, -2, 3],
          },
          { id: 2, flag: true, doc: 'just a string', tags: [], scores: null },
          { id: 3 },
        ];
        for (const body of bodies) {
          const result = await store.appendTyped(
            await typed(store, 'samples', 'sample_written', body),
          );
          const { id, ...rest } = result.event.data;
          const row = await store.readRow('sample', id ?? null);
          expect(row).toEqual({ id, ...rest });
          const selected = await store.query({
            sql: 'SELECT * FROM sample WHERE id = $1',
            params: [id ?? null],
            rowsMax: 10,
            timeoutMs: 10_000,
          });
          expect(selected.rows).toEqual([row]);
        }
        const first = await store.readRow('sample', '9007199254740993');
        expect(first).toMatchObject({
          id: '9007199254740993',
          big: '-9223372036854775808',
          flag: false,
          code: 'ab  ',
          ref: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
          doc: { nested: [1, 'two', null, { deep: true }], n: 1.25 },
        });
        const columns = await store.query({
          sql: 'SELECT id, amount, flag, at_tz, tags, code FROM sample WHERE id = $1',
          params: [2],
          rowsMax: 10,
          timeoutMs: 10_000,
        });
        expect(columns.columns).toEqual([
          { name: 'id', type: 'bigint' },
          { name: 'amount', type: 'numeric(30,10)' },
          { name: 'flag', type: 'boolean' },
          { name: 'at_tz', type: 'timestamptz(3)' },
          { name: 'tags', type: 'text[]' },
          { name: 'code', type: 'char(4)' },
        ]);
        expect(columns.rows).toEqual([
          { id: 2, amount: null, flag: true, at_tz: null, tags: [], code: null },
        ]);
      });
    });

    describe('values in SQL', () => {
      it('sorts and compares timestamps in the order of time, fractions or not', async () => {
        await define(
          store,
          `CREATE AGGREGATE tick (id integer PRIMARY KEY, at timestamptz, local timestamp);
           CREATE EVENT_TYPE ticked (id creates tick(id), at updates tick(at), local updates tick(local));
           CREATE STREAM ticks (path "/ticks/{id}" event_types (ticked))`,
        );
        // The canonical forms trim trailing zeros: as plain text `…05.6Z` would sort after `…05.678Z`.
        const times = [
          '2026-01-02T03:04:05.678Z',
          '2026-01-02T03:04:05Z',
          '2026-01-02T03:04:05.6Z',
          '2026-01-02T03:04:04.999999Z',
          '2026-01-02T03:04:05.000001Z',
        ];
        for (const [index, at] of times.entries()) {
          await store.appendTyped(
            await typed(store, 'ticks', 'ticked', { id: index + 1, at, local: at.slice(0, -1) }),
          );
        }
        const sorted = [...times].sort(
          (a, b) => Date.parse(a) - Date.parse(b) || a.length - b.length,
        );
        const byTime = [
          '2026-01-02T03:04:04.999999Z',
          '2026-01-02T03:04:05Z',
          '2026-01-02T03:04:05.000001Z',
          '2026-01-02T03:04:05.6Z',
          '2026-01-02T03:04:05.678Z',
        ];
        expect(sorted).toEqual(byTime);
        const run = async (sql: string) =>
          (await store.query({ sql, params: [], rowsMax: 100, timeoutMs: 10_000 })).rows;
        expect((await run('SELECT at FROM tick ORDER BY at')).map((r) => r.at)).toEqual(byTime);
        expect((await run('SELECT local FROM tick ORDER BY local')).map((r) => r.local)).toEqual(
          byTime.map((t) => t.slice(0, -1)),
        );
        // Column against column (a self-join): the latest tick is later than every other.
        expect(
          await run(
            'SELECT a.id FROM tick a WHERE NOT EXISTS (SELECT 1 FROM tick b WHERE b.at > a.at)',
          ),
        ).toEqual([{ id: 1 }]);
        expect(await run('SELECT count(*) AS n FROM tick a JOIN tick b ON b.at = a.at')).toEqual([
          { n: 5 },
        ]);
      });
    });

    describe('typed writes on the seed', () => {
      it('refuses the seed account_created as written: its typo leaves billing_contact.last_name null', async () => {
        await define(store, eventdExamples.join(';\n'));
        const before = await snapshot(fixture, [
          ['account', 'id'],
          ['billing_contact', 'id'],
        ]);
        const error = await expectCode(
          store.appendTyped(
            await typed(store, 'account_events', 'account_created', seedAccountCreatedBody),
          ),
          'AEV_AGGREGATE_CONFLICT',
        );
        expect(error.details).toMatchObject({
          aggregate: 'billing_contact',
          column: 'last_name',
          constraint: 'not_null',
        });
        expect(
          await snapshot(fixture, [
            ['account', 'id'],
            ['billing_contact', 'id'],
          ]),
        ).toEqual(before);
      });

      it('writes the seed POST bodies: keys generated, defaults filled, rows created and updated', async () => {
        await define(store, seedDdlFixed);
        const created = await store.appendTyped(
          await typed(store, 'account_events', 'account_created', seedAccountCreatedBody),
        );
        expect(created.created).toEqual({ id: 1, billing_id: 1 });
        expect(created.event.stream).toBe('/accounts/1');
        expect(created.event.revision).toBe(0n);
        expect(created.event.data).toMatchObject({ id: 1, billing_id: 1, name: 'test account' });
        expect(await store.readRow('account', 1)).toEqual({
          id: 1,
          name: 'test account',
          created_at: recordedAt,
        });
        expect(await store.readRow('billing_contact', 1)).toEqual({
          id: 1,
          first_name: 'Bob',
          last_name: 'Test',
          account_id: null,
        });
        expect(created.changes.map((c) => [c.aggregate, c.operation, c.key])).toEqual([
          ['account', 'insert', 1],
          ['billing_contact', 'insert', 1],
        ]);
        // The second POST, with the key in the path and in the body (as `account_id`, the seed's alias).
        const updated = await store.appendTyped(
          await typed(
            store,
            'account_events',
            'account_name_updated',
            { account_id: 1, name: 'test account 2' },
            { pathValues: ['1'] },
          ),
        );
        expect(updated.event.stream).toBe('/accounts/1');
        expect(updated.event.revision).toBe(1n);
        expect(updated.created).toEqual({});
        expect(updated.changes).toEqual([
          {
            position: updated.event.position,
            eventId: updated.event.id,
            aggregate: 'account',
            key: 1,
            operation: 'update',
            before: { id: 1, name: 'test account', created_at: recordedAt },
            after: { id: 1, name: 'test account 2', created_at: recordedAt },
          },
        ]);
        expect((await store.readRow('account', 1))?.name).toBe('test account 2');
        expect(await store.readRow('account', 2)).toBeNull();
        await expectTablesEqualReplay(fixture);
      });

      it('generates consecutive keys, and an explicit key raises the sequence', async () => {
        await define(store, seedDdlFixed);
        const write = async (body: Record<string, unknown>) =>
          (await store.appendTyped(await typed(store, 'account_events', 'account_created', body)))
            .created;
        const body = { ...seedAccountCreatedBody };
        expect(await write(body)).toEqual({ id: 1, billing_id: 1 });
        expect(await write(body)).toEqual({ id: 2, billing_id: 2 });
        expect(await write({ ...body, id: 10 })).toEqual({ id: 10, billing_id: 3 });
        expect(await write(body)).toEqual({ id: 11, billing_id: 4 });
        // A key below the sequence that is free is taken as given.
        expect(await write({ ...body, id: 5, billing_id: 7 })).toEqual({ id: 5, billing_id: 7 });
        expect(await write(body)).toEqual({ id: 12, billing_id: 8 });
        const ids = (await rowsOf(store, 'account', 'id')).map((r) => r.id);
        expect(ids).toEqual([1, 2, 5, 10, 11, 12]);
      });
    });

    describe('keys and references beyond the seed', () => {
      it('generates bigserial keys past 2^53 as decimal strings', async () => {
        await define(
          store,
          `CREATE AGGREGATE big (id bigserial PRIMARY KEY, note text);
           CREATE EVENT_TYPE big_made (id creates big(id), note updates big(note));
           CREATE STREAM bigs (path "/bigs/{id}" event_types (big_made))`,
        );
        const explicit = await store.appendTyped(
          await typed(store, 'bigs', 'big_made', { id: '9007199254740993', note: 'a' }),
        );
        expect(explicit.created).toEqual({ id: '9007199254740993' });
        const generated = await store.appendTyped(
          await typed(store, 'bigs', 'big_made', { note: 'b' }),
        );
        expect(generated.created).toEqual({ id: '9007199254740994' });
        expect(generated.event.stream).toBe('/bigs/9007199254740994');
        expect(await store.readRow('big', '9007199254740994')).toEqual({
          id: '9007199254740994',
          note: 'b',
        });
      });

      it('lets a row reference itself, and refuses one naming a missing row', async () => {
        await define(
          store,
          `CREATE AGGREGATE node (id integer PRIMARY KEY, parent integer REFERENCES node(id));
           CREATE EVENT_TYPE node_added (id creates node(id), parent updates node(parent));
           CREATE STREAM nodes (path "/nodes/{id}" event_types (node_added))`,
        );
        await store.appendTyped(await typed(store, 'nodes', 'node_added', { id: 1, parent: 1 }));
        await store.appendTyped(await typed(store, 'nodes', 'node_added', { id: 2, parent: 1 }));
        const error = await expectCode(
          store.appendTyped(await typed(store, 'nodes', 'node_added', { id: 3, parent: 9 })),
          'AEV_AGGREGATE_CONFLICT',
        );
        expect(error.details).toMatchObject({
          aggregate: 'node',
          column: 'parent',
          constraint: 'references',
        });
        expect(await rowsOf(store, 'node', 'id')).toEqual([
          { id: 1, parent: 1 },
          { id: 2, parent: 1 },
        ]);
        await expectTablesEqualReplay(fixture);
      });
    });

    describe('conflicts write nothing', () => {
      const ddl = `${seedDdlFixed};
        CREATE AGGREGATE member (
          id integer PRIMARY KEY,
          email text UNIQUE,
          account_id integer REFERENCES account(id),
          nickname text NOT NULL DEFAULT 'anon'
        );
        CREATE EVENT_TYPE member_joined (
          id creates member(id),
          email updates member(email),
          account updates member(account_id),
          nickname updates member(nickname)
        );
        CREATE EVENT_TYPE member_renamed (
          id references member(id),
          nickname text updates member(nickname)
        );
        CREATE STREAM members (path "/members/{id}" event_types (member_joined, member_renamed))`;
      const tables: [string, string][] = [
        ['account', 'id'],
        ['billing_contact', 'id'],
        ['member', 'id'],
      ];

      async function populated(): Promise<void> {
        await define(store, ddl);
        await store.appendTyped(
          await typed(store, 'account_events', 'account_created', seedAccountCreatedBody),
        );
        await store.appendTyped(
          await typed(store, 'members', 'member_joined', { id: 1, email: 'a@x', account: 1 }),
        );
      }

      async function expectConflict(
        write: TypedWrite,
        details: { aggregate: string; column: string; constraint: string },
      ): Promise<void> {
        const before = await snapshot(fixture, tables);
        const error = await expectCode(store.appendTyped(write), 'AEV_AGGREGATE_CONFLICT');
        expect(error.details).toMatchObject(details);
        expect(await snapshot(fixture, tables)).toEqual(before);
      }

      it('exists: creating a key that is taken', async () => {
        await populated();
        await expectConflict(await typed(store, 'members', 'member_joined', { id: 1 }), {
          aggregate: 'member',
          column: 'id',
          constraint: 'exists',
        });
        // The second row of a two-row event conflicts after the first was inserted: both are undone.
        await expectConflict(
          await typed(store, 'account_events', 'account_created', {
            ...seedAccountCreatedBody,
            billing_id: 1,
          }),
          { aggregate: 'billing_contact', column: 'id', constraint: 'exists' },
        );
        // The generated account key was rolled back with the event: the next one is 2.
        const next = await store.appendTyped(
          await typed(store, 'account_events', 'account_created', seedAccountCreatedBody),
        );
        expect(next.created).toEqual({ id: 2, billing_id: 2 });
      });

      it('references: an event naming a row that does not exist', async () => {
        await populated();
        await expectConflict(
          await typed(
            store,
            'account_events',
            'account_name_updated',
            { name: 'x' },
            { pathValues: ['99'] },
          ),
          { aggregate: 'account', column: 'id', constraint: 'references' },
        );
      });

      it('references: a REFERENCES column naming a missing row', async () => {
        await populated();
        await expectConflict(
          await typed(store, 'members', 'member_joined', { id: 2, account: 42 }),
          { aggregate: 'member', column: 'account_id', constraint: 'references' },
        );
      });

      it('unique: a value another row holds', async () => {
        await populated();
        await expectConflict(
          await typed(store, 'members', 'member_joined', { id: 2, email: 'a@x' }),
          { aggregate: 'member', column: 'email', constraint: 'unique' },
        );
        // A null is never a duplicate.
        await store.appendTyped(await typed(store, 'members', 'member_joined', { id: 3 }));
        await store.appendTyped(await typed(store, 'members', 'member_joined', { id: 4 }));
      });

      it('not_null: an update that empties a NOT NULL column, and a column DEFAULT filling a null field', async () => {
        await populated();
        expect((await store.readRow('member', 1))?.nickname).toBe('anon');
        await expectConflict(
          await typed(store, 'members', 'member_renamed', { id: 1, nickname: null }),
          { aggregate: 'member', column: 'nickname', constraint: 'not_null' },
        );
      });

      it('AEV_STREAM_VERSION_MISMATCH: the expected revision is checked on the filled stream path', async () => {
        await populated();
        const before = await snapshot(fixture, tables);
        await expectCode(
          store.appendTyped(
            await typed(
              store,
              'members',
              'member_renamed',
              { id: 1, nickname: 'n' },
              { expected: 'no_stream' },
            ),
          ),
          'AEV_STREAM_VERSION_MISMATCH',
        );
        await expectCode(
          store.appendTyped(
            await typed(
              store,
              'members',
              'member_renamed',
              { id: 1, nickname: 'n' },
              { expected: 5n },
            ),
          ),
          'AEV_STREAM_VERSION_MISMATCH',
        );
        expect(await snapshot(fixture, tables)).toEqual(before);
        const ok = await store.appendTyped(
          await typed(
            store,
            'members',
            'member_renamed',
            { id: 1, nickname: 'n' },
            { expected: 0n },
          ),
        );
        expect(ok.event.stream).toBe('/members/1');
        expect(ok.event.revision).toBe(1n);
        await store.appendTyped(
          await typed(store, 'members', 'member_joined', { id: 9 }, { expected: 'no_stream' }),
        );
      });

      it('AEV_EVENT_ID_DUPLICATE: an id already in the log', async () => {
        await populated();
        const id = randomUUID();
        await store.appendTyped(await typed(store, 'members', 'member_joined', { id: 2 }, { id }));
        const before = await snapshot(fixture, tables);
        await expectCode(
          store.appendTyped(await typed(store, 'members', 'member_joined', { id: 3 }, { id })),
          'AEV_EVENT_ID_DUPLICATE',
        );
        await expectCode(
          store.appendTyped(
            await typed(store, 'account_events', 'account_created', seedAccountCreatedBody, { id }),
          ),
          'AEV_EVENT_ID_DUPLICATE',
        );
        expect(await snapshot(fixture, tables)).toEqual(before);
      });

      it('AEV_DEFINITIONS_CHANGED: a write validated against older definitions', async () => {
        await populated();
        const stale = await typed(store, 'members', 'member_joined', { id: 2 });
        await define(store, 'CREATE AGGREGATE other (id integer PRIMARY KEY)');
        const before = await snapshot(fixture, tables);
        const error = await expectCode(store.appendTyped(stale), 'AEV_DEFINITIONS_CHANGED');
        expect(error.details).toEqual({ expected: 1, actual: 2 });
        expect(await snapshot(fixture, tables)).toEqual(before);
      });
    });

    describe('changing definitions on a populated database', () => {
      async function populated(): Promise<void> {
        await define(store, seedDdlFixed);
        for (const name of ['a', 'b', 'c']) {
          await store.appendTyped(
            await typed(store, 'account_events', 'account_created', {
              ...seedAccountCreatedBody,
              name,
            }),
          );
        }
        await store.appendTyped(
          await typed(store, 'account_events', 'account_name_updated', { id: 2, name: 'b2' }),
        );
      }

      it('ALTER AGGREGATE ADD COLUMN rebuilds the table by replaying the log', async () => {
        await populated();
        // A query before the change: whatever the engine caches for queries must follow the new shape.
        expect(Object.keys((await rowsOf(store, 'account', 'id'))[0] ?? {})).toEqual([
          'id',
          'name',
          'created_at',
        ]);
        const result = await define(
          store,
          `ALTER AGGREGATE account ADD COLUMN tier text NOT NULL DEFAULT 'free'`,
        );
        expect(result.rebuilt).toEqual(['account']);
        expect(result.created).toEqual([]);
        expect(result.changes[0]?.impact).toBe('rebuild');
        const rows = await rowsOf(store, 'account', 'id');
        expect(Object.keys(rows[0] ?? {})).toEqual(['id', 'name', 'created_at', 'tier']);
        expect(rows.map((r) => [r.id, r.name, r.tier, r.created_at])).toEqual([
          [1, 'a', 'free', recordedAt],
          [2, 'b2', 'free', recordedAt],
          [3, 'c', 'free', recordedAt],
        ]);
        // The rebuilt table keeps its constraints and its sequence.
        const next = await store.appendTyped(
          await typed(store, 'account_events', 'account_created', seedAccountCreatedBody),
        );
        expect(next.created).toEqual({ id: 4, billing_id: 4 });
        await expectTablesEqualReplay(fixture);
      });

      it('ALTER AGGREGATE DROP COLUMN and ALTER COLUMN TYPE rebuild too', async () => {
        await populated();
        await define(store, 'ALTER AGGREGATE billing_contact DROP COLUMN account_id');
        expect(await store.readRow('billing_contact', 1)).toEqual({
          id: 1,
          first_name: 'Bob',
          last_name: 'Test',
        });
        await define(store, 'ALTER AGGREGATE billing_contact ADD COLUMN note varchar(10)');
        const result = await define(
          store,
          'ALTER AGGREGATE billing_contact ALTER COLUMN note TYPE text',
        );
        expect(result.rebuilt).toEqual(['billing_contact']);
        expect(result.changes[0]?.impact).toBe('rebuild');
        const columns = await store.query({
          sql: 'SELECT note FROM billing_contact WHERE id = $1',
          params: [1],
          rowsMax: 10,
          timeoutMs: 10_000,
        });
        expect(columns.columns).toEqual([{ name: 'note', type: 'text' }]);
        expect(columns.rows).toEqual([{ note: null }]);
        await expectTablesEqualReplay(fixture);
      });

      it('refuses a SET NOT NULL that the replayed rows break, and writes nothing', async () => {
        await define(store, seedDdlFixed);
        await store.appendTyped(
          await typed(store, 'account_events', 'account_created', seedAccountCreatedBody),
        );
        const head = await fixture.storage.headPosition();
        await expectCode(
          define(store, 'ALTER AGGREGATE billing_contact ALTER COLUMN account_id SET NOT NULL'),
          'AEV_AGGREGATE_CONFLICT',
        );
        expect(await fixture.storage.headPosition()).toBe(head);
        expect((await store.loadDefinitions()).version).toBe(1);
        expect(await store.readRow('billing_contact', 1)).toMatchObject({ account_id: null });
      });

      it('ALTER EVENT_TYPE ADD FIELD with a DEFAULT: old events read with it, new ones carry it', async () => {
        await populated();
        await define(store, `ALTER AGGREGATE account ADD COLUMN source text`);
        const result = await define(
          store,
          `ALTER EVENT_TYPE account_created ADD FIELD source text DEFAULT 'import' updates account(source)`,
        );
        expect(result.changes[0]?.impact).toBe('compatible');
        // Old events (version 1) read as version 2: the field takes its DEFAULT, and the table is a replay of that.
        expect((await rowsOf(store, 'account', 'id')).map((r) => r.source)).toEqual([
          'import',
          'import',
          'import',
        ]);
        const next = await store.appendTyped(
          await typed(store, 'account_events', 'account_created', {
            ...seedAccountCreatedBody,
            source: 'web',
          }),
        );
        expect(next.event.schemaVersion).toBe(2);
        expect((await store.readRow('account', 4))?.source).toBe('web');
        const log = await readLog(fixture.storage);
        expect(log.filter((e) => e.type === 'account_created').map((e) => e.schemaVersion)).toEqual(
          [1, 1, 1, 2],
        );
        await expectTablesEqualReplay(fixture);
      });

      it('an incompatible event type change needs its upcaster; with it, the tables are replayed through it', async () => {
        await populated();
        const change = `ALTER EVENT_TYPE account_name_updated ADD FIELD reason text NOT NULL`;
        const head = await fixture.storage.headPosition();
        const error = await expectCode(define(store, change), 'AEV_MIGRATION_INVALID');
        expect(String((error.details as { reason: string }).reason)).toContain(
          'account_name_updated',
        );
        expect(await fixture.storage.headPosition()).toBe(head);
        const upcasters: Upcasters = new Map([
          [
            'account_name_updated',
            new Map([
              [
                1,
                (data: Readonly<Record<string, unknown>>) => ({
                  ...data,
                  name: `${String(data.name)} (renamed)`,
                  reason: 'unknown',
                }),
              ],
            ]),
          ],
        ]);
        const result = await define(store, change, { upcasters });
        expect(result.rebuilt).toEqual(['account']);
        expect((await store.readRow('account', 2))?.name).toBe('b2 (renamed)');
        expect((await store.readRow('account', 1))?.name).toBe('a');
        await expectTablesEqualReplay(fixture, upcasters);
        // New events are written at version 2 and need no upcaster.
        await store.appendTyped(
          await typed(store, 'account_events', 'account_name_updated', {
            id: 3,
            name: 'c2',
            reason: 'typo',
          }),
        );
        expect((await store.readRow('account', 3))?.name).toBe('c2');
        await expectTablesEqualReplay(fixture, upcasters);
      });

      it('DROP EVENT_TYPE: the rows its events made go, as a replay of the log gives them', async () => {
        await populated();
        expect((await store.readRow('account', 2))?.name).toBe('b2');
        const result = await define(
          store,
          'ALTER STREAM account_events DROP EVENT_TYPE account_name_updated; DROP EVENT_TYPE account_name_updated',
        );
        expect(result.rebuilt).toEqual(['account']);
        // Its events stay in the log, but no longer read as typed events.
        expect((await store.readRow('account', 2))?.name).toBe('b');
        await expectTablesEqualReplay(fixture);
      });

      it('DROP removes definitions and tables; the log keeps every event', async () => {
        await populated();
        await define(
          store,
          `CREATE AGGREGATE tag (name text PRIMARY KEY);
           CREATE EVENT_TYPE tag_added (name creates tag(name));
           CREATE STREAM tags (path "/tags/{name}" event_types (tag_added))`,
        );
        await store.appendTyped(await typed(store, 'tags', 'tag_added', { name: 'red' }));
        expect(await store.readRow('tag', 'red')).toEqual({ name: 'red' });
        const logBefore = await readLog(fixture.storage);
        const result = await define(
          store,
          'DROP STREAM tags; DROP EVENT_TYPE tag_added; DROP AGGREGATE tag',
        );
        expect(result.dropped).toEqual(['tag']);
        await expectCode(
          store.query({ sql: 'SELECT * FROM tag', params: [], rowsMax: 10, timeoutMs: 10_000 }),
          'AEV_SQL_INVALID',
        );
        const logAfter = await readLog(fixture.storage);
        expect(logAfter.slice(0, logBefore.length)).toEqual(logBefore);
        expect(logAfter).toHaveLength(logBefore.length + 1);
        // The name is free again, and a new table starts empty.
        await define(store, 'CREATE AGGREGATE tag (name text PRIMARY KEY, color text)');
        expect(await rowsOf(store, 'tag', 'name')).toEqual([]);
        await expectTablesEqualReplay(fixture);
      });
    });

    describe('the change feed', () => {
      it('lists row changes in log order, after a position, by aggregate, up to a limit', async () => {
        await define(store, seedDdlFixed);
        const first = await store.appendTyped(
          await typed(store, 'account_events', 'account_created', seedAccountCreatedBody),
        );
        const second = await store.appendTyped(
          await typed(store, 'account_events', 'account_name_updated', { id: 1, name: 'n2' }),
        );
        const all = await store.readChanges({ after: null, limit: 100 });
        expect(all).toEqual([...first.changes, ...second.changes]);
        expect(all.map((c) => [c.position, c.aggregate, c.operation])).toEqual([
          [first.event.position, 'account', 'insert'],
          [first.event.position, 'billing_contact', 'insert'],
          [second.event.position, 'account', 'update'],
        ]);
        expect(all[1]).toMatchObject({
          eventId: first.event.id,
          key: 1,
          before: null,
          after: { id: 1, first_name: 'Bob', last_name: 'Test', account_id: null },
        });
        expect(await store.readChanges({ after: first.event.position, limit: 100 })).toEqual(
          second.changes,
        );
        expect(await store.readChanges({ after: second.event.position, limit: 100 })).toEqual([]);
        expect(await store.readChanges({ after: null, limit: 1 })).toEqual(all.slice(0, 1));
        expect(
          await store.readChanges({ after: null, limit: 100, aggregates: ['billing_contact'] }),
        ).toEqual([all[1]]);
        expect(await store.readChanges({ after: null, limit: 100, aggregates: [] })).toEqual([]);
      });
    });

    describe('SQL', () => {
      async function populated(): Promise<void> {
        await define(store, seedDdlFixed);
        await define(
          store,
          `CREATE EVENT_TYPE contact_linked (billing_id references billing_contact(id), account_id updates billing_contact(account_id));
           CREATE STREAM contacts (path "/contacts/{billing_id}" event_types (contact_linked))`,
        );
        for (const name of ['alpha', 'beta', 'gamma']) {
          await store.appendTyped(
            await typed(store, 'account_events', 'account_created', {
              ...seedAccountCreatedBody,
              name,
            }),
          );
        }
        await store.appendTyped(
          await typed(store, 'contacts', 'contact_linked', { billing_id: 2, account_id: 1 }),
        );
      }
      const run = (sql: string, params: Value[] = [], rowsMax = 100, timeoutMs = 10_000) =>
        store.query({ sql, params, rowsMax, timeoutMs });

      it('selects by aggregate name with canonical values and column types', async () => {
        await populated();
        const result = await run('SELECT id, name, created_at FROM account ORDER BY id');
        expect(result.columns).toEqual([
          { name: 'id', type: 'integer' },
          { name: 'name', type: 'varchar(40)' },
          { name: 'created_at', type: 'timestamptz' },
        ]);
        expect(result.rows).toEqual([
          { id: 1, name: 'alpha', created_at: recordedAt },
          { id: 2, name: 'beta', created_at: recordedAt },
          { id: 3, name: 'gamma', created_at: recordedAt },
        ]);
        expect(result.truncated).toBe(false);
      });

      it('joins aggregates, with WITH and parameters', async () => {
        await populated();
        const result = await run(
          `WITH named AS (SELECT id, name FROM account WHERE name <> $1)
           SELECT b.id AS contact, a.name AS account FROM billing_contact b JOIN named a ON a.id = b.account_id
           WHERE b.first_name = $2 ORDER BY b.id`,
          ['beta', 'Bob'],
        );
        expect(result.rows).toEqual([{ contact: 2, account: 'alpha' }]);
        expect(result.columns.map((c) => c.name)).toEqual(['contact', 'account']);
        const count = await run('SELECT count(*) AS n FROM account WHERE id > $1', [1]);
        expect(count.rows).toEqual([{ n: 2 }]);
        expect(count.columns).toEqual([{ name: 'n', type: null }]);
      });

      it('returns at most rowsMax rows and says when there were more', async () => {
        await populated();
        const result = await run('SELECT id FROM account ORDER BY id', [], 2);
        expect(result.rows).toEqual([{ id: 1 }, { id: 2 }]);
        expect(result.truncated).toBe(true);
        expect((await run('SELECT id FROM account', [], 3)).truncated).toBe(false);
      });

      it.each([
        ['INSERT', "INSERT INTO account (id, name, created_at) VALUES (9, 'x', 'y')"],
        ['DELETE', 'DELETE FROM account'],
        ['UPDATE', "UPDATE account SET name = 'x'"],
        ['DROP', 'DROP TABLE account'],
        ['PRAGMA', 'PRAGMA table_info(account)'],
        ['ATTACH', "ATTACH DATABASE 'other.db' AS other"],
        ['the event log', 'SELECT * FROM events'],
        ['the SQLite catalog', 'SELECT * FROM sqlite_schema'],
        ['the PostgreSQL catalog', 'SELECT * FROM pg_class'],
        ['two statements', 'SELECT 1 FROM account; SELECT 2 FROM account'],
        ['a write in a CTE', 'WITH d AS (DELETE FROM account RETURNING *) SELECT * FROM d'],
        ['FOR UPDATE', 'SELECT * FROM account FOR UPDATE'],
        ['set_config', "SELECT set_config('search_path', 'public', false)"],
        ['an unknown table', 'SELECT * FROM nothing_here'],
        ['a syntax error', 'SELEC 1'],
        ['a missing parameter', 'SELECT * FROM account WHERE id = $2'],
      ])('refuses %s with AEV_SQL_INVALID', async (_label, sql) => {
        await populated();
        const before = await snapshot(fixture, [['account', 'id']]);
        await expectCode(run(sql, sql.includes('$2') ? [1] : []), 'AEV_SQL_INVALID');
        expect(await snapshot(fixture, [['account', 'id']])).toEqual(before);
      });

      it('refuses a parameter count that does not match the text', async () => {
        await populated();
        await expectCode(run('SELECT * FROM account WHERE id = $1', []), 'AEV_SQL_INVALID');
        await expectCode(run('SELECT * FROM account', [1]), 'AEV_SQL_INVALID');
      });

      it('stops a query that runs past its timeout with AEV_SQL_TIMEOUT, and keeps answering', async () => {
        await populated();
        await expectCode(
          run(
            `WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 1000000)
             SELECT count(*) AS c FROM n a, n b, account`,
            [],
            10,
            200,
          ),
          'AEV_SQL_TIMEOUT',
        );
        expect((await run('SELECT count(*) AS c FROM account')).rows).toEqual([{ c: 3 }]);
      });
    });

    describe('the tables are a replay of the log (property)', () => {
      const contactsDdl = `CREATE EVENT_TYPE contact_linked (
          billing_id references billing_contact(id),
          account_id updates billing_contact(account_id)
        );
        CREATE STREAM contacts (path "/contacts/{billing_id}" event_types (contact_linked))`;
      const step = fc.oneof(
        {
          weight: 4,
          arbitrary: fc.record({
            kind: fc.constant('create' as const),
            id: fc.option(fc.integer({ min: 1, max: 8 }), { nil: undefined }),
            billing: fc.option(fc.integer({ min: 1, max: 8 }), { nil: undefined }),
            name: fc.string({ maxLength: 5 }),
          }),
        },
        {
          weight: 3,
          arbitrary: fc.record({
            kind: fc.constant('rename' as const),
            id: fc.integer({ min: 1, max: 10 }),
            name: fc.string({ maxLength: 5 }),
          }),
        },
        {
          weight: 2,
          arbitrary: fc.record({
            kind: fc.constant('link' as const),
            billing: fc.integer({ min: 1, max: 8 }),
            account: fc.option(fc.integer({ min: 1, max: 8 }), { nil: null }),
          }),
        },
        {
          weight: 1,
          arbitrary: fc.record({
            kind: fc.constant('alter' as const),
            // A new aggregate column, or a new column that a new field of account_name_updated sets (old events of
            // that type then read with the field's DEFAULT, and the table is rebuilt from them).
            linked: fc.boolean(),
            fallback: fc.integer({ min: -5, max: 5 }),
          }),
        },
      );

      it('after random sequences of valid and conflicting events and definition changes', async () => {
        await fc.assert(
          fc.asyncProperty(fc.array(step, { maxLength: 14 }), async (steps) => {
            const local = await factory();
            try {
              await define(local.store, `${seedDdlFixed};\n${contactsDdl}`);
              for (const [index, current] of steps.entries()) {
                if (current.kind === 'alter') {
                  const column = `c${index}`;
                  await define(
                    local.store,
                    current.linked
                      ? `ALTER AGGREGATE account ADD COLUMN ${column} integer;
                         ALTER EVENT_TYPE account_name_updated
                           ADD FIELD ${column} integer DEFAULT ${current.fallback} updates account(${column})`
                      : `ALTER AGGREGATE account ADD COLUMN ${column} integer NOT NULL DEFAULT ${current.fallback}`,
                  );
                  continue;
                }
                let write: TypedWrite;
                if (current.kind === 'create') {
                  write = await typed(local.store, 'account_events', 'account_created', {
                    ...seedAccountCreatedBody,
                    name: current.name,
                    ...(current.id === undefined ? {} : { id: current.id }),
                    ...(current.billing === undefined ? {} : { billing_id: current.billing }),
                  });
                } else if (current.kind === 'rename') {
                  write = await typed(local.store, 'account_events', 'account_name_updated', {
                    id: current.id,
                    name: current.name,
                  });
                } else {
                  write = await typed(local.store, 'contacts', 'contact_linked', {
                    billing_id: current.billing,
                    account_id: current.account,
                  });
                }
                const outcome = await local.store.appendTyped(write).then(
                  () => 'written',
                  (error: unknown) => {
                    expect((error as AevonError).code).toBe('AEV_AGGREGATE_CONFLICT');
                    return 'conflict';
                  },
                );
                // Generated keys are always free: a create that names no key never conflicts.
                if (
                  current.kind === 'create' &&
                  current.id === undefined &&
                  current.billing === undefined
                ) {
                  expect(outcome).toBe('written');
                }
              }
              await expectTablesEqualReplay(local);
            } finally {
              await local.dispose();
            }
          }),
          { numRuns: 15 },
        );
      });
    });
  });
}
