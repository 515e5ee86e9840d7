// Goal: `aevon verify` finds drift between the pre-aggregates and the log, and `aevon rebuild` repairs it while
// `aevon serve` keeps ingesting, sweeping and answering, with every state answer exact before and after the swap
// (never a mix, never a step back). Method: the built CLI on SQLite and PostgreSQL; the drift is written straight
// into the pre-aggregates table behind the server's back.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  assertCliBuilt,
  createWorkdir,
  postJson,
  runToEnd,
  serve,
  stop,
} from '../../../test/support/aevon-cli.js';
import type { TestDatabase } from '../../../test/support/postgres.js';
import { createTestDatabase } from '../../../test/support/postgres.js';

const rule = 'count_api_requests';
const principals = ['alice', 'bob', 'carol'] as const;
const eventsPerPrincipal = 120;
const drift = 5;
const hourMs = 3_600_000;
const dayMs = 86_400_000;

interface Target {
  readonly env: Record<string, string>;
  /** Adds `drift` to one stored bucket of alice, behind the server's back. */
  readonly tamper: (dir: string) => Promise<void>;
}

function statePath(principal: string): string {
  return (
    `/v1/state/${principal}?rule=${rule}&start=2026-02-11T10:00:00Z&end=2026-02-11T11:00:00Z` +
    '&granularity=total'
  );
}

async function ingest(url: string, principal: string, count: number, tag: string): Promise<void> {
  const events = Array.from({ length: count }, (_, i) => ({
    id: `${tag}-${principal}-${i}`,
    principal_id: principal,
    type: 'api.request',
    schema_version: 0,
    occurred_at: `2026-02-11T10:${String(i % 50).padStart(2, '0')}:00Z`,
    data: {},
  }));
  const response = await postJson(`${url}/v1/events/batch`, events);
  expect(response.status).toBe(200);
  expect(await response.json()).toMatchObject({ accepted: count, rejected: 0 });
}

async function count(url: string, principal: string): Promise<number> {
  const response = await fetch(`${url}${statePath(principal)}`);
  expect(response.status).toBe(200);
  const body = (await response.json()) as { values: { event_count: number; value: string }[] };
  const [window] = body.values;
  expect(window?.value).toBe(String(window?.event_count));
  return window?.event_count ?? -1;
}

/** Polls `aevon verify` (read-only) until the sweep has folded `events` events. */
async function waitForSweep(dir: string, env: Record<string, string>, events: number) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const result = await runToEnd(['verify'], dir, env);
    if (result.stdout.includes(`: ${events} events read`)) return result;
    if (Date.now() > deadline) throw new Error(`the sweep did not catch up:\n${result.stdout}`);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

function describeMaintenanceCommands(name: string, target: () => Target): void {
  describe(`aevon verify and rebuild on ${name}`, () => {
    it('verify reports drift and exits 5; rebuild repairs it while the server serves', async () => {
      const dir = createWorkdir();
      const { env, tamper } = target();
      const server = await serve(dir, env);
      try {
        for (const principal of principals)
          await ingest(server.url, principal, eventsPerPrincipal, 'a');
        const total = principals.length * eventsPerPrincipal;
        const clean = await waitForSweep(dir, env, total);
        expect(clean.code).toBe(0);
        expect(clean.stdout).toContain('0 difference(s)');

        await tamper(dir);
        const found = await runToEnd(['verify'], dir, env);
        expect(found.code).toBe(5);
        expect(found.stdout).toContain('3 difference(s)');
        expect(found.stdout).toMatch(
          /count_api_requests "alice" 2026-02-11T10:\d\d:00Z: stored \d+/,
        );
        expect(found.stdout).toContain(
          'count_api_requests "alice" 2026-02-11T10:00:00Z (1h rollup): stored',
        );
        expect(found.stdout).toContain(
          'count_api_requests "alice" 2026-02-11T00:00:00Z (1d rollup): stored',
        );
        expect(found.stderr).toContain('aevon rebuild --rule R');
        const narrowed = await runToEnd(['verify', '--rule', rule, '--principal', 'bob'], dir, env);
        expect(narrowed.code).toBe(0);
        expect(narrowed.stdout).toContain(`${eventsPerPrincipal} events read`);
        expect(await count(server.url, 'alice')).toBe(eventsPerPrincipal + drift);

        // Readers and ingest keep going during the rebuild; alice's answer is the drifted one until the swap and
        // the exact one after it, never anything else and never back.
        let isRunning = true;
        const seen: number[] = [];
        const readers = (async () => {
          while (isRunning) {
            seen.push(await count(server.url, 'alice'));
            expect(await count(server.url, 'bob')).toBe(eventsPerPrincipal);
          }
        })();
        let batches = 0;
        const writers = (async () => {
          while (isRunning) {
            batches += 1;
            await ingest(server.url, 'carol', 20, `b${batches}`);
          }
        })();
        const rebuilt = await runToEnd(['rebuild', '--rule', rule], dir, env);
        isRunning = false;
        await Promise.all([readers, writers]);
        expect(rebuilt.code).toBe(0);
        expect(rebuilt.stdout).toMatch(/rebuilt rule count_api_requests from \d+ events/);
        expect(rebuilt.stderr).toMatch(/rebuild count_api_requests: \[#+\] 100% \d+\/\d+ events/);
        const firstExact = seen.indexOf(eventsPerPrincipal);
        const expected = seen.map((_, i) =>
          firstExact !== -1 && i >= firstExact ? eventsPerPrincipal : eventsPerPrincipal + drift,
        );
        expect(seen).toEqual(expected);
        expect(await count(server.url, 'alice')).toBe(eventsPerPrincipal);
        expect(await count(server.url, 'carol')).toBe(eventsPerPrincipal + 20 * batches);

        const after = await waitForSweep(dir, env, total + 20 * batches);
        expect(after.code).toBe(0);
        expect(await stop(server)).toBe(0);
      } finally {
        server.child.kill('SIGKILL');
      }
    }, 90_000);

    it('rejects an unknown rule and a rebuild without --rule with exit 2 and one line', async () => {
      const dir = createWorkdir();
      const { env } = target();
      const unknown = await runToEnd(['verify', '--rule', 'nope'], dir, env);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr.trim().split('\n')).toEqual([
        expect.stringMatching(/^aevon: AEV_RULE_UNKNOWN: /),
      ]);
      const missing = await runToEnd(['rebuild'], dir, env);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain('aevon rebuild needs --rule RULE');
      const misplaced = await runToEnd(['migrate', '--principal', 'p'], dir, env);
      expect(misplaced.code).toBe(2);
    });
  });
}

beforeAll(assertCliBuilt);

describeMaintenanceCommands('SQLite', () => ({
  env: {},
  tamper: async (dir) => {
    const db = new Database(join(dir, 'data', 'aevon.db'));
    try {
      db.pragma('busy_timeout = 5000');
      const minute = db
        .prepare<[string], number>(
          `SELECT min(bucket_start) FROM pre_aggregates WHERE principal_id = 'alice' AND rule = ?`,
        )
        .pluck()
        .get(rule);
      expect(typeof minute).toBe('number');
      const start = minute ?? 0;
      const bump = `event_count = event_count + ${drift}, value = CAST(CAST(value AS INTEGER) + ${drift} AS TEXT)`;
      const changed = db
        .prepare(
          `UPDATE pre_aggregates SET ${bump} WHERE principal_id = 'alice' AND rule = ? AND bucket_start = ?`,
        )
        .run(rule, start).changes;
      expect(changed).toBe(1);
      // The minute's hour and day rollups drift with it, as a doubly applied sweep step would leave them.
      const rollups = db
        .prepare(
          `UPDATE pre_aggregate_rollups SET ${bump}
           WHERE principal_id = 'alice' AND rule = ? AND (width, bucket_start) IN (VALUES (?, ?), (?, ?))`,
        )
        .run(rule, hourMs, start - (start % hourMs), dayMs, start - (start % dayMs)).changes;
      expect(rollups).toBe(2);
    } finally {
      db.close();
    }
  },
}));

describe('on PostgreSQL', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase('aevon_maintenance_e2e');
    const migrated = await runToEnd(['migrate'], createWorkdir(), {
      AEVON_DATABASE_DSN: database.url,
    });
    expect(migrated.code).toBe(0);
  });
  afterAll(async () => {
    await database.drop();
  });
  describeMaintenanceCommands('PostgreSQL', () => ({
    env: { AEVON_DATABASE_DSN: database.url },
    tamper: async () => {
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      try {
        const bump = `event_count = event_count + ${drift}, value = value + ${drift}`;
        const minute = await client.query<{ start: string }>(
          `SELECT min(bucket_start)::text AS start FROM aevon.pre_aggregates
           WHERE principal_id = 'alice' AND rule = $1`,
          [rule],
        );
        const start = Number(minute.rows[0]?.start);
        const result = await client.query(
          `UPDATE aevon.pre_aggregates SET ${bump}
           WHERE principal_id = 'alice' AND rule = $1 AND bucket_start = $2`,
          [rule, start],
        );
        expect(result.rowCount).toBe(1);
        // The minute's hour and day rollups drift with it, as a doubly applied sweep step would leave them.
        const rollups = await client.query(
          `UPDATE aevon.pre_aggregate_rollups SET ${bump}
           WHERE principal_id = 'alice' AND rule = $1
             AND (width, bucket_start) IN (($2::bigint, $3::bigint), ($4::bigint, $5::bigint))`,
          [rule, hourMs, start - (start % hourMs), dayMs, start - (start % dayMs)],
        );
        expect(rollups.rowCount).toBe(2);
      } finally {
        await client.end();
      }
    },
  }));
});
