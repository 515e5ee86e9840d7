// Goal: definitions migrations on a populated database, on SQLite and PostgreSQL: a migration that adds a field (old
// events still read, new writes use it), one that changes an aggregate (its table rebuilt by replay, checked by SQL),
// an upcaster for an incompatible step, the log recording each migration so that a fresh engine rebuilds the same
// definitions, and an edited applied file refused. Method: real migration files in a temporary folder, the real
// stores and engines (test/support/typed-server.ts), typed writes through the definitions engine.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixedSeedMigration } from '../../../test/support/eventd-seed.js';
import type { TypedServer, TypedTarget } from '../../../test/support/typed-server.js';
import { postgresTarget, sqliteTarget } from '../../../test/support/typed-server.js';
import { createSeededRandom } from '@aevon/core';
import { createDefinitionsEngine } from './definitions.js';
import { loadMigrations, upcastersFromModules } from './migrations.js';

const targets: readonly TypedTarget[] = [sqliteTarget(), postgresTarget('definitions')];
afterAll(async () => {
  for (const target of targets) await target.dispose();
});

const addPlan = `-- every account gets a plan; old accounts are on the free one
ALTER AGGREGATE account ADD COLUMN plan text DEFAULT 'free';
ALTER EVENT_TYPE account_created ADD FIELD plan updates account(plan) DEFAULT 'free';
`;
const reshapeBillingContact = `ALTER AGGREGATE billing_contact DROP COLUMN account_id, ADD COLUMN note text;`;
const addTier = `ALTER EVENT_TYPE account_created ADD FIELD tier integer NOT NULL;`;

describe.each(targets)('definitions migrations on $name', (target) => {
  let server: TypedServer;
  let dir: string;
  beforeEach(async () => {
    server = await target.open();
    dir = mkdtempSync(join(tmpdir(), 'aevon-migrations-'));
    writeFileSync(join(dir, '0001_eventd_seed.sql'), fixedSeedMigration);
  });
  afterEach(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const createAccount = async (name: string, extra: Record<string, unknown> = {}) =>
    server.definitions.write({
      stream: 'account_events',
      eventType: 'account_created',
      body: {
        name,
        billing_first_name: 'A',
        billing_last_name: name,
        send_notification: true,
        ...extra,
      },
      pathValues: [],
    });
  const rows = async (sql: string) => (await server.definitions.query(sql, [])).rows;
  const migrate = async () => server.definitions.migrate(await loadMigrations(dir));

  it('moves its commit signal after each committed write and definitions change, not after a refused one', async () => {
    // Typed writes and definitions bypass the event store: this signal is what wakes live subscriptions at once.
    await migrate();
    const { commits } = server.definitions;
    const before = commits.sequence();
    let woken = 0;
    const stop = commits.onCommit(() => {
      woken += 1;
    });
    await createAccount('one');
    expect(commits.sequence()).toBe(before + 1);
    await expect(
      server.definitions.write({
        stream: 'account_events',
        eventType: 'account_name_updated',
        body: { name: 'x' },
        pathValues: ['99'],
      }),
    ).rejects.toMatchObject({ code: 'AEV_AGGREGATE_CONFLICT' });
    expect(commits.sequence()).toBe(before + 1);
    await server.definitions.applyDdl('CREATE AGGREGATE other (id integer PRIMARY KEY)');
    expect(commits.sequence()).toBe(before + 2);
    expect(woken).toBe(2);
    stop();
  });

  it('adds a field: old events read with its default, new writes carry it', async () => {
    expect((await migrate()).map((file) => file.name)).toEqual(['0001_eventd_seed']);
    await createAccount('old one');
    await createAccount('old two');
    writeFileSync(join(dir, '0002_add_plan.sql'), addPlan);
    expect((await migrate()).map((file) => file.name)).toEqual(['0002_add_plan']);
    await createAccount('new', { plan: 'pro' });
    expect(await rows('SELECT id, name, plan FROM account ORDER BY id')).toEqual([
      { id: 1, name: 'old one', plan: 'free' },
      { id: 2, name: 'old two', plan: 'free' },
      { id: 3, name: 'new', plan: 'pro' },
    ]);
    // An old account still takes the events that name it.
    await server.definitions.write({
      stream: 'account_events',
      eventType: 'account_name_updated',
      body: { name: 'renamed' },
      pathValues: ['1'],
    });
    expect(await rows('SELECT name, plan FROM account WHERE id = 1')).toEqual([
      { name: 'renamed', plan: 'free' },
    ]);
  });

  it('changes an aggregate on a populated database: its table is rebuilt from the log', async () => {
    await migrate();
    for (const name of ['a', 'b', 'c']) await createAccount(name);
    const before = await rows('SELECT id, first_name, last_name FROM billing_contact ORDER BY id');
    writeFileSync(join(dir, '0002_reshape_billing_contact.sql'), reshapeBillingContact);
    let rebuilt: readonly string[] = [];
    await server.definitions.migrate(await loadMigrations(dir), (_, result) => {
      rebuilt = result.rebuilt;
    });
    expect(rebuilt).toEqual(['billing_contact']);
    const result = await server.definitions.query('SELECT * FROM billing_contact ORDER BY id', []);
    expect(result.columns.map((column) => column.name)).toEqual([
      'id',
      'first_name',
      'last_name',
      'note',
    ]);
    expect(result.rows).toEqual(before.map((row) => ({ ...row, note: null })));
    await expect(
      server.definitions.query('SELECT account_id FROM billing_contact', []),
    ).rejects.toMatchObject({ code: 'AEV_SQL_INVALID' });
    // New writes fill the new shape.
    await createAccount('d');
    expect(await rows('SELECT count(*) AS n FROM billing_contact')).toEqual([
      { n: expect.anything() },
    ]);
    expect(Number((await rows('SELECT count(*) AS n FROM billing_contact'))[0]?.['n'])).toBe(4);
  });

  it('records each migration in the log, so that a fresh engine has the same definitions', async () => {
    writeFileSync(join(dir, '0002_add_plan.sql'), addPlan);
    await migrate();
    await createAccount('x', { plan: 'pro' });
    const described = await server.definitions.describe();
    expect(described.version).toBe(2);
    expect(described.migrations.map((migration) => migration.name)).toEqual([
      '0001_eventd_seed',
      '0002_add_plan',
    ]);
    await server.close();
    server = await target.reopen();
    expect(await server.definitions.describe()).toEqual(described);
    expect(await migrate()).toEqual([]);
    expect(await rows('SELECT name, plan FROM account')).toEqual([{ name: 'x', plan: 'pro' }]);
    expect(
      (await server.definitions.migrationStatus(await loadMigrations(dir))).map((s) => s.state),
    ).toEqual(['applied', 'applied']);
  });

  it('refuses an applied migration that was edited, and applies nothing after it', async () => {
    await migrate();
    writeFileSync(join(dir, '0001_eventd_seed.sql'), `${fixedSeedMigration}\n-- edited\n`);
    writeFileSync(join(dir, '0002_add_plan.sql'), addPlan);
    await expect(migrate()).rejects.toMatchObject({
      code: 'AEV_MIGRATION_INVALID',
      details: { reason: expect.stringContaining('was edited') },
    });
    expect((await server.definitions.describe()).version).toBe(1);
  });

  it('names the file and line of DDL that does not check, and applies none of the pending files', async () => {
    writeFileSync(join(dir, '0002_bad.sql'), '\nALTER AGGREGATE nope ADD COLUMN x text;');
    await expect(migrate()).rejects.toMatchObject({
      code: 'AEV_MIGRATION_INVALID',
      details: {
        reason: expect.stringMatching(/^0002_bad\.sql:2/),
        file: join(dir, '0002_bad.sql'),
      },
    });
    // Every pending file is checked before the first is applied: 0001 waits for the folder to be fixed.
    expect((await server.definitions.describe()).version).toBe(0);
    rmSync(join(dir, '0002_bad.sql'));
    expect((await migrate()).map((file) => file.name)).toEqual(['0001_eventd_seed']);
  });

  it('needs an upcaster for an incompatible step, and runs it when a table is rebuilt', async () => {
    await migrate();
    await createAccount('old');
    writeFileSync(join(dir, '0002_add_tier.sql'), addTier);
    writeFileSync(join(dir, '0003_reshape_billing_contact.sql'), reshapeBillingContact);
    const files = await loadMigrations(dir);
    // Without the upcaster nothing is applied: the check runs before the first change.
    await expect(server.definitions.migrate(files)).rejects.toMatchObject({
      code: 'AEV_MIGRATION_INVALID',
      details: { reason: expect.stringContaining('account_created: { 1: (data) => ... }') },
    });
    expect((await server.definitions.describe()).version).toBe(1);
    const upcasters = upcastersFromModules([
      {
        file: '0002_add_tier.upcast.mjs',
        exports: { default: { account_created: { 1: (data: object) => ({ ...data, tier: 1 }) } } },
      },
    ]);
    const withUpcasters = await createDefinitionsEngine({
      store: server.definitions.store,
      log: server.store,
      clock: server.clock,
      random: createSeededRandom(99),
      upcasters,
    });
    const applied = await withUpcasters.migrate(files);
    expect(applied.map((file) => file.name)).toEqual([
      '0002_add_tier',
      '0003_reshape_billing_contact',
    ]);
    expect(
      (await withUpcasters.query('SELECT first_name, last_name FROM billing_contact', [])).rows,
    ).toEqual([{ first_name: 'A', last_name: 'old' }]);
    // The first engine's definitions are stale: its write is checked again against the new ones.
    await expect(createAccount('no tier')).rejects.toMatchObject({
      code: 'AEV_EVENT_DATA_INVALID',
      details: { field: 'tier' },
    });
    const written = await createAccount('tiered', { tier: 3 });
    expect(written.event.data).toMatchObject({ tier: 3 });
  });
});
