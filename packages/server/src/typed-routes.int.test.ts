// Goal: every Eventd seed example works over HTTP as written, on SQLite and PostgreSQL: the seed's DDL applied as a
// migration, its two POSTs byte for byte (XEvent-Type, trailing comma), POST /sql joining account and billing_contact,
// GET /aggregates/account/1; plus the definitions endpoint, the SQL limits and every bad input as a coded problem.
// The seed DDL as written cannot create an account (billing_last_name updates billing_contact(first_name), so the
// NOT NULL last_name is never set): that is shown as AEV_AGGREGATE_CONFLICT not_null, and the rest runs with that one
// typo fixed. Method: the real stores and engines (test/support/typed-server.ts) and Fastify's inject.
import type { InjectOptions } from 'fastify';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  fixedSeedMigration,
  seedMigration,
  seedPost1,
  seedPost2,
} from '../../../test/support/eventd-seed.js';
import type { TypedServer, TypedTarget } from '../../../test/support/typed-server.js';
import { postgresTarget, sqliteTarget } from '../../../test/support/typed-server.js';

const targets: readonly TypedTarget[] = [sqliteTarget(), postgresTarget('typed_routes')];
afterAll(async () => {
  for (const target of targets) await target.dispose();
});

describe.each(targets)('typed events over HTTP on $name', (target) => {
  let server: TypedServer;
  beforeEach(async () => {
    server = await target.open();
  });
  afterEach(async () => {
    await server.close();
  });

  const inject = (request: InjectOptions) => server.app.inject(request);
  const sql = async (text: string, params: unknown[] = [], limit?: number) =>
    inject({
      method: 'POST',
      url: '/v1/sql',
      payload: { sql: text, params, ...(limit === undefined ? {} : { limit }) },
    });
  const countOf = async (table: string): Promise<number> => {
    const response = await sql(`SELECT count(*) AS n FROM ${table}`);
    expect(response.statusCode).toBe(200);
    return Number(response.json<{ rows: { n: unknown }[] }>().rows[0]?.n);
  };
  const write = async (
    eventType: string,
    body: Record<string, unknown>,
    path = '/v1/streams/account_events',
  ) => inject({ method: 'POST', url: path, headers: { 'x-event-type': eventType }, payload: body });

  it('refuses the seed’s first POST under the DDL as written: last_name is never set', async () => {
    await server.definitions.applyDdl(seedMigration, {
      migration: { name: '0001_eventd_seed', checksum: 'a'.repeat(64) },
    });
    const response = await inject(seedPost1);
    expect(response.statusCode).toBe(409);
    expect(response.headers['content-type']).toContain('application/problem+json');
    expect(response.json()).toMatchObject({
      code: 'AEV_AGGREGATE_CONFLICT',
      details: { aggregate: 'billing_contact', column: 'last_name', constraint: 'not_null' },
    });
    // Nothing was written: no row, no event.
    expect((await inject({ method: 'GET', url: '/aggregates/account/1' })).statusCode).toBe(404);
    expect(await countOf('account')).toBe(0);
    expect(await server.store.readAllPage({ limit: 10 })).toHaveLength(1); // the definitions event only
  });

  describe('with the seed’s typo fixed', () => {
    beforeEach(async () => {
      await server.definitions.applyDdl(fixedSeedMigration, {
        migration: { name: '0001_eventd_seed', checksum: 'b'.repeat(64) },
      });
    });

    it('runs the first POST as written: keys and created_at defaulted, rows in both aggregates', async () => {
      const response = await inject(seedPost1);
      expect(response.statusCode).toBe(201);
      const body = response.json();
      expect(body).toMatchObject({
        stream: '/accounts/1',
        revision: '0',
        type: 'account_created',
        created: { id: 1, billing_id: 1 },
        data: {
          id: 1,
          billing_id: 1,
          name: 'test account',
          billing_first_name: 'Bob',
          billing_last_name: 'Test',
          send_notification: true,
        },
      });
      expect(body.position).toEqual(expect.any(String));
      expect(body.id).toEqual(expect.any(String));

      const account = await inject({ method: 'GET', url: '/aggregates/account/1' });
      expect(account.statusCode).toBe(200);
      expect(account.json()).toEqual({
        id: 1,
        name: 'test account',
        created_at: '2026-03-01T12:00:00Z',
      });
      const joined = await sql(
        'SELECT a.id, a.name, b.first_name, b.last_name FROM account a ' +
          'JOIN billing_contact b ON b.id = a.id ORDER BY a.id',
      );
      expect(joined.statusCode).toBe(200);
      expect(joined.json()).toMatchObject({
        columns: [{ name: 'id' }, { name: 'name' }, { name: 'first_name' }, { name: 'last_name' }],
        rows: [{ id: 1, name: 'test account', first_name: 'Bob', last_name: 'Test' }],
        truncated: false,
      });
    });

    it('runs the second POST as written once account 123 exists, and refuses it before', async () => {
      const missing = await inject(seedPost2);
      expect(missing.statusCode).toBe(409);
      expect(missing.json()).toMatchObject({
        code: 'AEV_AGGREGATE_CONFLICT',
        details: { aggregate: 'account', constraint: 'references' },
      });
      const created = await write('account_created', {
        id: 123,
        name: 'test account',
        billing_first_name: 'Bob',
        billing_last_name: 'Test',
        send_notification: false,
      });
      expect(created.statusCode).toBe(201);
      expect(created.json()).toMatchObject({ stream: '/accounts/123', created: { id: 123 } });
      const updated = await inject(seedPost2);
      expect(updated.statusCode).toBe(201);
      expect(updated.json()).toMatchObject({
        stream: '/accounts/123',
        revision: '1',
        type: 'account_name_updated',
        data: { id: 123, name: 'test account 2' },
      });
      const row = await inject({ method: 'GET', url: '/v1/aggregates/account/123' });
      expect(row.json()).toMatchObject({ id: 123, name: 'test account 2' });
    });

    it('continues the serial after an explicit key', async () => {
      await write('account_created', {
        id: 5,
        name: 'five',
        billing_first_name: 'A',
        billing_last_name: 'B',
        send_notification: true,
      });
      const next = await inject(seedPost1);
      expect(next.json()).toMatchObject({ created: { id: 6, billing_id: 2 } });
    });

    it('answers the definitions in force as DDL text, with the migration that applied them', async () => {
      const response = await inject({ method: 'GET', url: '/v1/definitions' });
      expect(response.statusCode).toBe(200);
      const body = response.json();
      expect(body.version).toBe(1);
      expect(body.migrations).toEqual([
        {
          name: '0001_eventd_seed',
          checksum: 'b'.repeat(64),
          version: 1,
          position: expect.any(String),
          recorded_at: '2026-03-01T12:00:00.000Z',
        },
      ]);
      for (const name of ['account', 'billing_contact']) {
        expect(body.ddl).toContain(`CREATE AGGREGATE ${name} (`);
      }
      expect(body.ddl).toContain('CREATE STREAM account_events');
      expect(body.ddl).toContain('updates billing_contact(last_name)');
    });

    it('accepts X-Event-Type, an event id and an expected revision', async () => {
      const body = {
        name: 'n',
        billing_first_name: 'A',
        billing_last_name: 'B',
        send_notification: true,
      };
      const first = await inject({
        method: 'POST',
        url: '/v1/streams/account_events',
        headers: { 'x-event-type': 'account_created', 'x-event-id': 'evt-1' },
        payload: body,
      });
      expect(first.statusCode).toBe(201);
      expect(first.json().id).toBe('evt-1');
      const again = await inject({
        method: 'POST',
        url: '/v1/streams/account_events',
        headers: { 'x-event-type': 'account_created', 'x-event-id': 'evt-1' },
        payload: body,
      });
      expect(again.statusCode).toBe(409);
      expect(again.json().code).toBe('AEV_EVENT_ID_DUPLICATE');
      const stale = await inject({
        method: 'POST',
        url: '/v1/streams/account_events/1',
        headers: { 'x-event-type': 'account_name_updated', 'x-expected-revision': '5' },
        payload: { name: 'x' },
      });
      expect(stale.statusCode).toBe(409);
      expect(stale.json().code).toBe('AEV_STREAM_VERSION_MISMATCH');
      const fresh = await inject({
        method: 'POST',
        url: '/v1/streams/account_events/1',
        headers: { 'x-event-type': 'account_name_updated', 'x-expected-revision': '0' },
        payload: { name: 'x' },
      });
      expect(fresh.statusCode).toBe(201);
    });

    it('bounds SQL answers by the configured maximum and a lower limit', async () => {
      for (let i = 0; i < 3; i += 1) expect((await inject(seedPost1)).statusCode).toBe(201);
      const limited = await sql('SELECT id FROM account ORDER BY id', [], 2);
      expect(limited.json()).toMatchObject({ rows: [{ id: 1 }, { id: 2 }], truncated: true });
      const all = await sql('SELECT id FROM account WHERE id > $1 ORDER BY id', [1]);
      expect(all.json()).toMatchObject({ rows: [{ id: 2 }, { id: 3 }], truncated: false });
      // A limit above sql.rows_max (100 here) only gets rows_max.
      const above = await sql('SELECT id FROM account', [], 1_000_000);
      expect(above.statusCode).toBe(200);
    });

    it.each([
      ['no event type', { 'content-type': 'application/json' }, '{}', 400, 'AEV_REQUEST_INVALID'],
      [
        'two different event types',
        { 'x-event-type': 'account_created', 'xevent-type': 'account_name_updated' },
        '{}',
        400,
        'AEV_REQUEST_INVALID',
      ],
      ['an unknown event type', { 'x-event-type': 'nope' }, '{}', 400, 'AEV_EVENT_DATA_INVALID'],
      ['a body that is not an object', { 'x-event-type': 'account_created' }, '[1]', 400, ''],
      ['malformed JSON', { 'x-event-type': 'account_created' }, '{"a":', 400, ''],
      ['a comma in place of a value', { 'x-event-type': 'account_created' }, '{,}', 400, ''],
      [
        'a name longer than varchar(40)',
        { 'x-event-type': 'account_created' },
        JSON.stringify({
          name: 'x'.repeat(41),
          billing_first_name: 'A',
          billing_last_name: 'B',
          send_notification: true,
        }),
        400,
        'AEV_EVENT_DATA_INVALID',
      ],
      [
        'a missing NOT NULL field',
        { 'x-event-type': 'account_created' },
        JSON.stringify({ name: 'n', billing_first_name: 'A', billing_last_name: 'B' }),
        400,
        'AEV_EVENT_DATA_INVALID',
      ],
      ['a bad event id', { 'x-event-type': 'account_created', 'x-event-id': 'a b' }, '{}', 400, ''],
      [
        'a bad expected revision',
        { 'x-event-type': 'account_created', 'x-expected-revision': '-1' },
        '{}',
        400,
        'AEV_REQUEST_INVALID',
      ],
    ])('refuses a write with %s', async (_, headers, payload, status, code) => {
      const response = await inject({
        method: 'POST',
        url: '/v1/streams/account_events',
        headers: { 'content-type': 'application/json', ...headers },
        payload,
      });
      expect(response.statusCode).toBe(status);
      expect(response.headers['content-type']).toContain('application/problem+json');
      const problem = response.json();
      expect(problem.code).toMatch(/^AEV_/);
      if (code !== '') expect(problem.code).toBe(code);
      expect(await countOf('account')).toBe(0);
    });

    it('names the field at fault in AEV_EVENT_DATA_INVALID', async () => {
      const response = await write('account_created', {
        name: 'x'.repeat(41),
        billing_first_name: 'A',
        billing_last_name: 'B',
        send_notification: true,
      });
      expect(response.json()).toMatchObject({
        code: 'AEV_EVENT_DATA_INVALID',
        details: { stream: 'account_events', eventType: 'account_created', field: 'name' },
      });
    });

    it('answers 404 for an unknown stream, aggregate or row, and 400 for a key of the wrong type', async () => {
      const stream = await write('account_created', {}, '/v1/streams/nope');
      expect(stream.statusCode).toBe(404);
      expect(stream.json().code).toBe('AEV_NOT_FOUND');
      const aggregate = await inject({ method: 'GET', url: '/v1/aggregates/nope/1' });
      expect(aggregate.statusCode).toBe(404);
      expect(aggregate.json().code).toBe('AEV_NOT_FOUND');
      const row = await inject({ method: 'GET', url: '/v1/aggregates/account/99' });
      expect(row.statusCode).toBe(404);
      expect(row.json().code).toBe('AEV_NOT_FOUND');
      const key = await inject({ method: 'GET', url: '/v1/aggregates/account/abc' });
      expect(key.statusCode).toBe(400);
      expect(key.json()).toMatchObject({ code: 'AEV_REQUEST_INVALID', details: { field: 'key' } });
    });

    it('refuses trailing commas outside typed writes', async () => {
      const response = await inject({
        method: 'POST',
        url: '/v1/sql',
        headers: { 'content-type': 'application/json' },
        payload: '{"sql": "SELECT 1",}',
      });
      expect(response.statusCode).toBe(400);
      expect(response.json().code).toBe('AEV_REQUEST_INVALID');
    });

    it.each([
      ['a statement that writes', { sql: 'DELETE FROM account' }, 'AEV_SQL_INVALID'],
      ['two statements', { sql: 'SELECT 1; SELECT 2' }, 'AEV_SQL_INVALID'],
      ['an unknown table', { sql: 'SELECT * FROM nope' }, 'AEV_SQL_INVALID'],
      ['no sql', { params: [] }, 'AEV_REQUEST_INVALID'],
      ['an empty sql', { sql: '  ' }, 'AEV_REQUEST_INVALID'],
      ['params that are not an array', { sql: 'SELECT 1', params: 1 }, 'AEV_REQUEST_INVALID'],
      ['a zero limit', { sql: 'SELECT 1', limit: 0 }, 'AEV_REQUEST_INVALID'],
      ['a fractional limit', { sql: 'SELECT 1', limit: 1.5 }, 'AEV_REQUEST_INVALID'],
      ['an unknown field', { sql: 'SELECT 1', timeout: 1 }, 'AEV_REQUEST_INVALID'],
    ])('refuses SQL with %s', async (_, payload, code) => {
      const response = await inject({ method: 'POST', url: '/v1/sql', payload });
      expect(response.statusCode).toBe(400);
      expect(response.json().code).toBe(code);
    });

    it('answers another method on a typed path 405 with Allow', async () => {
      const response = await inject({ method: 'GET', url: '/v1/streams/account_events' });
      expect(response.statusCode).toBe(405);
      expect(response.headers['allow']).toBe('POST');
      const sqlGet = await inject({ method: 'GET', url: '/v1/sql' });
      expect(sqlGet.statusCode).toBe(405);
    });

    it('puts typed events in the log that event subscriptions read', async () => {
      await inject(seedPost1);
      const events = await server.store.readAllPage({ limit: 10 });
      expect(events.map((event) => [event.stream, event.type])).toEqual([
        ['$aevon/definitions', 'aevon.definitions_changed'],
        ['/accounts/1', 'account_created'],
      ]);
    });
  });
});
