// Goal: every hostile request to the typed routes (typed writes, row reads, SQL, definitions, change feeds) gets a
// coded 4xx problem+json, never a 500, writes nothing (neither an event nor a row), and leaves the server answering;
// SQL that could write, lock, sleep or read outside the aggregate tables is refused on both engines.
// Method: tables of requests driven with app.inject against the real stores and engines (test/support/typed-server.ts)
// on SQLite and PostgreSQL, with the seed's definitions (typo fixed) and one account; the log and the tables are read
// before and after each case and compared, as hostile-input.int.test.ts does for the metering routes.
import { gzipSync } from 'node:zlib';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedSeedMigration } from '../../../test/support/eventd-seed.js';
import { expectProblem } from '../../../test/support/hostile-http.js';
import type { TypedServer, TypedTarget } from '../../../test/support/typed-server.js';
import { postgresTarget, sqliteTarget } from '../../../test/support/typed-server.js';

const account = {
  name: 'hostile',
  billing_first_name: 'A',
  billing_last_name: 'B',
  send_notification: true,
};
const withField = (field: string, value: unknown) => JSON.stringify({ ...account, [field]: value });

const write = (
  payload: string | Buffer,
  headers: Record<string, string | string[]> = {},
  url = '/v1/streams/account_events',
): InjectOptions => ({
  method: 'POST',
  url,
  headers: { 'content-type': 'application/json', 'x-event-type': 'account_created', ...headers },
  payload,
});
const sql = (body: unknown): InjectOptions => ({
  method: 'POST',
  url: '/v1/sql',
  headers: { 'content-type': 'application/json' },
  payload: JSON.stringify(body),
});
const get = (url: string): InjectOptions => ({ method: 'GET', url });

/** Typed writes that break a rule, and the status each must get (any 4xx when undefined). */
const badWrites: ReadonlyArray<readonly [string, InjectOptions, number?]> = [
  ...['', 'null', '[]', '"x"', '1', 'true', '{', '{"name": }', '{,}', '[,]', '{"name": 1,,}'].map(
    (payload) => [`the body ${JSON.stringify(payload)}`, write(payload)] as const,
  ),
  ['objects nested 10,000 deep', write(`${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`)],
  ['a __proto__ key', write('{"__proto__": {"polluted": true}, "name": "x"}'), 400],
  ['a constructor.prototype key', write('{"constructor": {"prototype": {"x": 1}}}'), 400],
  [
    'a body that is not UTF-8',
    write(Buffer.concat([Buffer.from('{"name": "'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')])),
    400,
  ],
  ['a gzip body', write(gzipSync(JSON.stringify(account)), { 'content-encoding': 'gzip' }), 415],
  ['text/plain', write(JSON.stringify(account), { 'content-type': 'text/plain' }), 415],
  [
    'charset latin1',
    write(JSON.stringify(account), { 'content-type': 'application/json; charset=latin1' }),
    415,
  ],
  ['a name of 41 characters', write(withField('name', 'n'.repeat(41))), 400],
  ['a name of 100,000 characters', write(withField('name', 'n'.repeat(100_000))), 400],
  ...[1, {}, [], true].map(
    (value) => [`name = ${JSON.stringify(value)}`, write(withField('name', value)), 400] as const,
  ),
  // The event type lets name be null; the aggregate's NOT NULL refuses it.
  ['name = null', write(withField('name', null)), 409],
  ...['yes', 1, null, [], {}].map(
    (value) =>
      [
        `send_notification = ${JSON.stringify(value)}`,
        write(withField('send_notification', value)),
        400,
      ] as const,
  ),
  ...['abc', 1.5, 1e300, {}, [], true, -1e20].map(
    (value) => [`id = ${JSON.stringify(value)}`, write(withField('id', value)), 400] as const,
  ),
  ['an unknown field', write(withField('nope', 1)), 400],
  ['no event type', write(JSON.stringify(account), { 'x-event-type': '' }), 400],
  [
    'an event type of 300 characters',
    write(JSON.stringify(account), { 'x-event-type': 'e'.repeat(300) }),
  ],
  ['an unknown event type', write(JSON.stringify(account), { 'x-event-type': 'nope' }), 400],
  [
    'X-Event-Type and XEvent-Type that differ',
    write(JSON.stringify(account), { 'xevent-type': 'account_name_updated' }),
    400,
  ],
  ['an event id with a space', write(JSON.stringify(account), { 'x-event-id': 'a b' }), 400],
  [
    'an event id of 300 characters',
    write(JSON.stringify(account), { 'x-event-id': 'i'.repeat(300) }),
    400,
  ],
  ...['abc', '-1', '1e3', '99999999999999999999', ''].map(
    (value) =>
      [
        `X-Expected-Revision ${JSON.stringify(value)}`,
        write(JSON.stringify(account), { 'x-expected-revision': value }),
        400,
      ] as const,
  ),
  ['an unknown stream', write(JSON.stringify(account), {}, '/v1/streams/nope'), 404],
  [
    'a path key that is not an integer',
    write(JSON.stringify(account), {}, '/v1/streams/account_events/abc'),
    400,
  ],
  [
    'two path keys for one placeholder',
    write(JSON.stringify(account), {}, '/v1/streams/account_events/1/2'),
    400,
  ],
  [
    'an empty path segment',
    write(JSON.stringify(account), {}, '/v1/streams/account_events/1/'),
    400,
  ],
  [
    'a path key and a body key that differ',
    write(withField('id', 6), {}, '/v1/streams/account_events/5'),
    400,
  ],
  ['17 path segments', write('{}', {}, `/v1/streams/account_events/${'1/'.repeat(16)}1`), 400],
  ['a creates key that is taken', write(withField('id', 1)), 409],
  [
    'an update of an account that does not exist',
    write(
      '{"name": "x"}',
      { 'x-event-type': 'account_name_updated' },
      '/streams/account_events/99',
    ),
    409,
  ],
  [
    'a stream revision that does not hold',
    write(
      '{"name": "x"}',
      { 'x-event-type': 'account_name_updated', 'x-expected-revision': 'no_stream' },
      '/streams/account_events/1',
    ),
    409,
  ],
];

/** Queries that must be refused: they write, lock, sleep, read outside the aggregate tables, or are malformed. */
const badQueries: ReadonlyArray<readonly [string, unknown, number?]> = [
  ...[
    'DELETE FROM account',
    "INSERT INTO account (id, name, created_at) VALUES (9, 'x', '2026-01-01T00:00:00Z')",
    "UPDATE account SET name = 'x'",
    'DROP TABLE account',
    'CREATE TABLE x (a integer)',
    'ALTER TABLE account ADD COLUMN x integer',
    'SELECT 1; DELETE FROM account',
    'WITH gone AS (DELETE FROM account RETURNING id) SELECT * FROM gone',
    'SELECT * FROM account FOR UPDATE',
    'SELECT * FROM events',
    'SELECT * FROM streams',
    'SELECT * FROM aevon_events',
    'SELECT * FROM api_keys',
    'PRAGMA table_info(account)',
    "ATTACH DATABASE '/tmp/x.db' AS x",
    'VACUUM',
    "COPY account TO '/tmp/x'",
    "SELECT load_extension('x')",
    "SELECT pg_read_file('/etc/passwd')",
    'SELECT nope FROM account',
    'SELEC 1',
    'SELECT $1',
  ].map((text) => [`the query ${JSON.stringify(text.slice(0, 60))}`, { sql: text }] as const),
  ['a parameter that is not used', { sql: 'SELECT 1', params: [1] }],
  ['no sql', { params: [] }, 400],
  ...[1, null, [], {}, true, ''].map(
    (value) => [`sql = ${JSON.stringify(value)}`, { sql: value }, 400] as const,
  ),
  ['sql of 100,001 characters', { sql: `SELECT 1 ${' '.repeat(100_000)}` }, 400],
  ['params that are an object', { sql: 'SELECT 1', params: {} }, 400],
  ['1,001 params', { sql: 'SELECT 1', params: Array.from({ length: 1001 }, () => 1) }, 400],
  ...[0, -1, 1.5, '1', 1e300, null].map(
    (value) =>
      [`limit = ${JSON.stringify(value)}`, { sql: 'SELECT 1', limit: value }, 400] as const,
  ),
  ['an unknown field', { sql: 'SELECT 1', timeout: 1 }, 400],
];

/**
 * Reads of the database's own catalog: they reveal no event or row, but name every table. Refused on both engines
 * (SQLite by the query's bytecode, PostgreSQL by the static check on `pg_` names and `information_schema`).
 */
const catalogQueries: readonly string[] = [
  'SELECT * FROM sqlite_master',
  'SELECT * FROM sqlite_schema',
  'SELECT * FROM pg_catalog.pg_tables',
  'SELECT * FROM information_schema.tables',
];

/** Reads and feeds that must be refused. */
const badReads: ReadonlyArray<readonly [string, InjectOptions, number?]> = [
  ['a key that is not an integer', get('/v1/aggregates/account/abc'), 400],
  ['a fractional key', get('/v1/aggregates/account/1.5'), 400],
  ['a key beyond integer', get('/v1/aggregates/account/99999999999999999999'), 400],
  ['a key with NUL', get('/v1/aggregates/account/%00'), 400],
  ['a key of 8,000 characters', get(`/v1/aggregates/account/${'9'.repeat(8_000)}`), 400],
  ['an unknown aggregate', get('/v1/aggregates/nope/1'), 404],
  ['a row that does not exist', get('/aggregates/account/2'), 404],
  ['a bad path encoding', get('/v1/aggregates/account/%ff'), 400],
  ['POST on a row', { method: 'POST', url: '/v1/aggregates/account/1', payload: '{}' }, 405],
  ['POST on the definitions', { method: 'POST', url: '/v1/definitions', payload: '{}' }, 405],
  ['GET on /v1/sql', get('/v1/sql'), 405],
  ['a feed from a bad position', get('/v1/aggregates/account/changes?from=yesterday'), 400],
  ['a feed of a bad key', get('/v1/aggregates/account/changes?key=abc'), 400],
  ['a feed of an unknown aggregate', get('/v1/aggregates/nope/changes'), 404],
  [
    'a feed of 101 keys',
    get(
      `/v1/aggregates/account/changes?${Array.from({ length: 101 }, (_, i) => `key=${i}`).join('&')}`,
    ),
    400,
  ],
  ['PUT on a feed', { method: 'PUT', url: '/v1/aggregates/account/changes', payload: '{}' }, 405],
];

const targets: readonly TypedTarget[] = [sqliteTarget(), postgresTarget('typed_hostile')];
afterAll(async () => {
  for (const target of targets) await target.dispose();
});

describe.each(targets)('hostile typed input on $name', (target) => {
  let server: TypedServer;
  beforeAll(async () => {
    server = await target.open();
    await server.definitions.applyDdl(fixedSeedMigration);
    const seeded = await server.app.inject(write(JSON.stringify(account)));
    expect(seeded.statusCode).toBe(201);
  });
  afterAll(async () => {
    await server.close();
  });

  /** Everything a refused request must leave as it was: the log and every aggregate row. */
  const snapshot = async () => ({
    log: await server.store.readAllPage({ limit: 1_000 }),
    accounts: (await server.definitions.query('SELECT * FROM account ORDER BY id', [])).rows,
    contacts: (await server.definitions.query('SELECT * FROM billing_contact ORDER BY id', []))
      .rows,
  });

  async function expectRejected(request: InjectOptions, status: number | undefined, name: string) {
    const before = await snapshot();
    const response = await server.app.inject(request);
    const problem = expectProblem(
      {
        status: response.statusCode,
        contentType: response.headers['content-type'] as string | undefined,
        body: response.body,
      },
      status,
      name,
    );
    expect(response.body).not.toMatch(/\bat .*\.(?:js|ts):\d+/);
    expect(await snapshot()).toEqual(before);
    if (response.statusCode === 405) expect(response.headers['allow']).toBeTruthy();
    expect((await server.app.inject(get('/health'))).statusCode).toBe(200);
    return problem;
  }

  it.each(badWrites.map(([name, request, status]) => ({ name, request, status })))(
    'refuses a typed write with $name',
    async ({ name, request, status }) => {
      await expectRejected(request, status, name);
    },
  );

  it.each(badQueries.map(([name, body, status]) => ({ name, body, status })))(
    'refuses SQL with $name',
    async ({ name, body, status }) => {
      const problem = await expectRejected(sql(body), status, name);
      if (status === undefined) expect(problem['code']).toMatch(/^AEV_SQL_(INVALID|TIMEOUT)$/);
    },
  );

  it.each(catalogQueries)('refuses the catalog query %s', async (text) => {
    const problem = await expectRejected(sql({ sql: text }), 400, text);
    expect(problem['code']).toBe('AEV_SQL_INVALID');
  });

  it.each(badReads.map(([name, request, status]) => ({ name, request, status })))(
    'refuses $name',
    async ({ name, request, status }) => {
      await expectRejected(request, status, name);
    },
  );

  it('stores SQL metacharacters and quotes verbatim, and reads them back by SQL and by key', async () => {
    const nasty = `'; DROP TABLE account; --"\\`;
    const response = await server.app.inject(write(withField('name', nasty)));
    expect(response.statusCode).toBe(201);
    const id = response.json<{ created: { id: number } }>().created.id;
    const row = await server.app.inject(get(`/v1/aggregates/account/${id}`));
    expect(row.json()).toMatchObject({ name: nasty });
    const found = await server.app.inject(
      sql({ sql: 'SELECT id FROM account WHERE name = $1', params: [nasty] }),
    );
    expect(found.json()).toMatchObject({ rows: [{ id }] });
  });

  it('still answers the seed’s read after all of the above', async () => {
    const row = await server.app.inject(get('/aggregates/account/1'));
    expect(row.statusCode).toBe(200);
    expect(row.json()).toMatchObject({ id: 1, name: 'hostile' });
  });
});
