// Goal: the Eventd seed end to end with the real command on SQLite and PostgreSQL: its DDL as a migration file
// applied by `aevon migrate`, its two POSTs byte for byte against `aevon serve`, POST /sql joining account and
// billing_contact, GET /aggregates/account/1, `aevon sql` (table, --json, --param, --limit, refusals) and
// `aevon migrate` (--status, an edited file, a gap), with their exit codes and one-line messages; and where each engine
// applies pending definitions migrations (SQLite at serve, PostgreSQL only through migrate).
// Method: spawn the built CLI in a temporary folder and talk to it with fetch.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  assertCliBuilt,
  createWorkdir,
  runToEnd,
  serve,
  stop,
} from '../../../test/support/aevon-cli.js';
import {
  fixedSeedMigration,
  seedMigration,
  seedPost1,
  seedPost2,
} from '../../../test/support/eventd-seed.js';
import type { TestDatabase } from '../../../test/support/postgres.js';
import { createTestDatabase } from '../../../test/support/postgres.js';

beforeAll(() => {
  assertCliBuilt();
});

/** Sends one of the seed's requests to a server exactly as the specification writes it. */
const sendSeed = (url: string, request: typeof seedPost1) =>
  fetch(`${url}${request.url}`, {
    method: request.method,
    headers: { 'Content-Type': 'application/json', 'XEvent-Type': request.headers['xevent-type'] },
    body: request.payload,
  });

const postSql = (url: string, sql: string, params: unknown[] = []) =>
  fetch(`${url}/sql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sql, params }),
  });

const joinSql =
  'SELECT a.id, a.name, b.first_name, b.last_name FROM account a ' +
  'JOIN billing_contact b ON b.id = a.id ORDER BY a.id';

interface Engine {
  readonly name: 'sqlite' | 'postgres';
  /** A fresh database's environment for the CLI. */
  readonly database: () => Promise<Record<string, string>>;
}

const databases: TestDatabase[] = [];
afterAll(async () => {
  for (const database of databases) await database.drop();
});

const engines: readonly Engine[] = [
  { name: 'sqlite', database: async () => ({}) },
  {
    name: 'postgres',
    database: async () => {
      const database = await createTestDatabase('aevon_eventd_e2e');
      databases.push(database);
      return { AEVON_DATABASE_DSN: database.url };
    },
  },
];

describe.each(engines)('the Eventd seed with aevon on $name', (engine) => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  const workdir = (migrations: Record<string, string>): string => {
    const dir = createWorkdir();
    dirs.push(dir);
    mkdirSync(join(dir, 'migrations'));
    for (const [name, text] of Object.entries(migrations)) {
      writeFileSync(join(dir, 'migrations', name), text);
    }
    return dir;
  };

  it('applies the seed DDL as written, and its first POST is refused: last_name is never set', async () => {
    const dir = workdir({ '0001_eventd_seed.sql': seedMigration });
    const env = await engine.database();
    const migrated = await runToEnd(['migrate'], dir, env);
    expect(migrated.code).toBe(0);
    // The typo is reported where it is.
    expect(migrated.stderr).toBe(
      'aevon: warning: 0001_eventd_seed.sql:20:5: fields "billing_first_name" and "billing_last_name" of event ' +
        'type "account_created" both update billing_contact(first_name); the later field wins\n',
    );
    expect(migrated.stdout).toContain('aevon: applied 0001_eventd_seed (definitions version 1)');
    const server = await serve(dir, env);
    try {
      const response = await sendSeed(server.url, seedPost1);
      expect(response.status).toBe(409);
      expect(await response.json()).toMatchObject({
        code: 'AEV_AGGREGATE_CONFLICT',
        details: { aggregate: 'billing_contact', column: 'last_name', constraint: 'not_null' },
      });
    } finally {
      expect(await stop(server)).toBe(0);
    }
  });

  it('runs every seed example with the typo fixed, then aevon sql and aevon migrate', async () => {
    const dir = workdir({ '0001_eventd_seed.sql': fixedSeedMigration });
    const env = await engine.database();
    expect((await runToEnd(['migrate'], dir, env)).code).toBe(0);
    const server = await serve(dir, env);
    try {
      const first = await sendSeed(server.url, seedPost1);
      expect(first.status).toBe(201);
      expect(await first.json()).toMatchObject({
        stream: '/accounts/1',
        created: { id: 1, billing_id: 1 },
      });
      const account = await fetch(`${server.url}/aggregates/account/1`);
      expect(account.status).toBe(200);
      expect(await account.json()).toMatchObject({ id: 1, name: 'test account' });
      const joined = await postSql(server.url, joinSql);
      expect(joined.status).toBe(200);
      expect(await joined.json()).toMatchObject({
        rows: [{ id: 1, name: 'test account', first_name: 'Bob', last_name: 'Test' }],
        truncated: false,
      });
      // The second POST names account 123: create it (an explicit serial key), then send the POST as written.
      const created = await fetch(`${server.url}/streams/account_events/123`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-event-type': 'account_created' },
        body: '{"name": "x", "billing_first_name": "A", "billing_last_name": "B", "send_notification": false}',
      });
      expect(created.status).toBe(201);
      const second = await sendSeed(server.url, seedPost2);
      expect(second.status).toBe(201);
      const renamed = await fetch(`${server.url}/aggregates/account/123`);
      expect(await renamed.json()).toMatchObject({ id: 123, name: 'test account 2' });
    } finally {
      expect(await stop(server)).toBe(0);
    }

    const table = await runToEnd(['sql', joinSql], dir, env);
    expect(table.stderr).toBe('');
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')).toEqual([
      // Account 123's billing contact got the next serial key, 2: the join on ids pairs only account 1.
      ' id | name         | first_name | last_name',
      '----+--------------+------------+-----------',
      ' 1  | test account | Bob        | Test',
      '(1 row)',
      '',
    ]);
    const json = await runToEnd(
      ['sql', 'SELECT id, name FROM account WHERE id > $1 ORDER BY id', '--param', '1', '--json'],
      dir,
      env,
    );
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual([{ id: 123, name: 'test account 2' }]);
    const limited = await runToEnd(
      ['sql', 'SELECT id FROM account', '--limit', '1', '--json'],
      dir,
      env,
    );
    expect(limited.code).toBe(0);
    expect(JSON.parse(limited.stdout)).toHaveLength(1);
    expect(limited.stderr).toContain('more rows than 1');

    const refused = await runToEnd(['sql', 'DELETE FROM account'], dir, env);
    expect(refused.code).toBe(6);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(/^aevon: AEV_SQL_INVALID: .+\n$/);
    const usage = await runToEnd(['sql'], dir, env);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('aevon sql needs a query');

    writeFileSync(
      join(dir, 'migrations', '0002_add_plan.sql'),
      "ALTER AGGREGATE account ADD COLUMN plan text DEFAULT 'free';",
    );
    const status = await runToEnd(['migrate', '--status'], dir, env);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(
      /^applied 0001_eventd_seed \(definitions version 1, .+\)\npending 0002_add_plan\n$/,
    );
    const second = await runToEnd(['migrate'], dir, env);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('aevon: applied 0002_add_plan (definitions version 2)');
    const plans = await runToEnd(
      ['sql', 'SELECT plan FROM account ORDER BY id', '--json'],
      dir,
      env,
    );
    expect(JSON.parse(plans.stdout)).toEqual([{ plan: 'free' }, { plan: 'free' }]);

    writeFileSync(
      join(dir, 'migrations', '0001_eventd_seed.sql'),
      `${fixedSeedMigration}-- edited\n`,
    );
    const edited = await runToEnd(['migrate'], dir, env);
    expect(edited.code).toBe(7);
    expect(edited.stderr).toMatch(
      /^aevon: AEV_MIGRATION_INVALID: .*0001_eventd_seed was edited.*\n$/,
    );
    writeFileSync(join(dir, 'migrations', '0001_eventd_seed.sql'), fixedSeedMigration);
    writeFileSync(join(dir, 'migrations', '0004_gap.sql'), '');
    const gap = await runToEnd(['migrate'], dir, env);
    expect(gap.code).toBe(7);
    expect(gap.stderr).toContain('migration 3 is missing');
  });

  it('loads upcaster modules beside the migrations, and refuses a step without one', async () => {
    const dir = workdir({ '0001_eventd_seed.sql': fixedSeedMigration });
    const env = await engine.database();
    expect((await runToEnd(['migrate'], dir, env)).code).toBe(0);
    const server = await serve(dir, env);
    try {
      expect((await sendSeed(server.url, seedPost1)).status).toBe(201);
    } finally {
      expect(await stop(server)).toBe(0);
    }
    // A NOT NULL field without a DEFAULT: version-1 events cannot be read as version 2 without an upcaster. The
    // billing_contact change after it rebuilds that table by replaying those events, so the upcaster runs.
    writeFileSync(
      join(dir, 'migrations', '0002_add_tier.sql'),
      'ALTER EVENT_TYPE account_created ADD FIELD tier integer NOT NULL;\n' +
        'ALTER AGGREGATE billing_contact ADD COLUMN note text;\n',
    );
    const refused = await runToEnd(['migrate'], dir, env);
    expect(refused.code).toBe(7);
    expect(refused.stderr).toContain('export an upcaster from 0002_add_tier.upcast.mjs');
    writeFileSync(join(dir, 'migrations', '0002_add_tier.upcast.mjs'), 'export default 42;\n');
    const badModule = await runToEnd(['migrate'], dir, env);
    expect(badModule.code).toBe(7);
    expect(badModule.stderr).toContain('default export { event_type: { N: fn } }');
    writeFileSync(
      join(dir, 'migrations', '0002_add_tier.upcast.mjs'),
      'export default { account_created: { 1: (data) => ({ ...data, tier: 1 }) } };\n',
    );
    const migrated = await runToEnd(['migrate'], dir, env);
    expect(migrated.stderr).toBe('');
    expect(migrated.code).toBe(0);
    expect(migrated.stdout).toContain('aevon: applied 0002_add_tier (definitions version 2)');
    const rows = await runToEnd(
      ['sql', 'SELECT first_name, last_name, note FROM billing_contact', '--json'],
      dir,
      env,
    );
    expect(JSON.parse(rows.stdout)).toEqual([{ first_name: 'Bob', last_name: 'Test', note: null }]);
  });

  it(`applies pending definitions migrations at serve ${engine.name === 'sqlite' ? 'on SQLite' : 'only with --migrate on PostgreSQL'}`, async () => {
    const dir = workdir({ '0001_eventd_seed.sql': fixedSeedMigration });
    const env = await engine.database();
    expect((await runToEnd(['migrate'], dir, env)).code).toBe(0);
    writeFileSync(
      join(dir, 'migrations', '0002_add_plan.sql'),
      "ALTER AGGREGATE account ADD COLUMN plan text DEFAULT 'free';",
    );
    const server = await serve(dir, env);
    try {
      const definitions = await fetch(`${server.url}/v1/definitions`);
      const body = (await definitions.json()) as { version: number };
      if (engine.name === 'sqlite') {
        expect(server.stdout()).toContain('aevon: applied 0002_add_plan (definitions version 2)');
        expect(body.version).toBe(2);
      } else {
        expect(server.stdout()).not.toContain('applied');
        expect(body.version).toBe(1);
      }
    } finally {
      expect(await stop(server)).toBe(0);
    }
  });
});
