// Goal: under more concurrent single-event requests than it admits, `aevon serve` turns the excess away with 429,
// Retry-After and a problem+json body instead of queueing them, never answers 5xx, stores every event it acknowledged
// exactly once and none it turned away, and serves again once the load drops. Method: the built server (its own
// process, so that its synchronous SQLite commits do not also stall the client) on a SQLite file, configured through
// AEVON_* with a small admission limit or a small group-commit queue, flooded with concurrent requests on as many
// connections; then the server is stopped and the log read back from the file.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { createEventStore, createManualClock, createSeededRandom } from '@aevon/core';
import { createSqliteStorage } from '@aevon/sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import type { AevonProcess, HttpAnswer } from '../../../test/support/aevon-process.js';
import {
  createServeWorkdir,
  createTestHttpClient,
  startServe,
} from '../../../test/support/aevon-process.js';
import { seedEvent } from '../../../test/support/seed-quick-start.js';

/** Concurrent requests of one flood, each on its own connection. */
const floodRequests = 200;
/** Floods at most, until one is turned away in part (the first one almost always is). */
const floodsMax = 10;
/** No request may go unanswered longer than this: the server answers or refuses, it does not hang. */
const requestTimeoutMs = 20_000;

let server: AevonProcess | undefined;
let workdir: string | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
  if (workdir !== undefined) rmSync(workdir, { recursive: true, force: true });
  workdir = undefined;
});

/** Every event id in the SQLite log at `path`, page by page. */
async function storedIds(path: string): Promise<string[]> {
  const storage = createSqliteStorage({ path });
  const store = createEventStore({
    storage,
    clock: createManualClock(0),
    random: createSeededRandom(1),
  });
  try {
    const ids: string[] = [];
    for await (const event of store.readAll()) ids.push(event.id);
    return ids;
  } finally {
    await store.close();
  }
}

describe.each([
  ['the admission limit', { AEVON_SERVER_REQUESTS_IN_FLIGHT_MAX: '4' }, 4],
  ['the group-commit queue', { AEVON_SERVER_APPEND_QUEUE_MAX: '2' }, 2],
])('aevon serve on SQLite, overloaded past %s', (_name, limitEnv, max) => {
  it('turns the excess away with 429 and stores every accepted event exactly once', async () => {
    // Given a server with a small bound on work in progress
    workdir = createServeWorkdir('aevon-overload-');
    const database = join(workdir, 'aevon.db');
    server = await startServe(workdir, {
      AEVON_DATABASE_DSN: `sqlite:${database}`,
      AEVON_LOG_LEVEL: 'error',
      ...limitEnv,
    });
    const http = createTestHttpClient(server.url, {
      socketsMax: floodRequests,
      timeoutMs: requestTimeoutMs,
    });

    // When floods of concurrent single-event requests arrive, until one is turned away in part
    const answers: (HttpAnswer & { readonly id: string })[] = [];
    for (let flood = 0; flood < floodsMax; flood += 1) {
      const ids = Array.from({ length: floodRequests }, (_, i) => `f${flood}-${i}`);
      const flooded = await Promise.all(
        ids.map(async (id) => ({ id, ...(await http.post('/v1/events', { ...seedEvent, id })) })),
      );
      answers.push(...flooded);
      if (flooded.some((answer) => answer.status === 429)) break;
    }

    // Then every answer is a 202 or a 429 problem with Retry-After, and both occur
    const accepted = answers.filter((answer) => answer.status === 202).map((answer) => answer.id);
    const refused = answers.filter((answer) => answer.status === 429);
    const others = answers.filter((answer) => answer.status !== 202 && answer.status !== 429);
    expect(others.map(({ status, error, body }) => ({ status, error, body }))).toEqual([]);
    expect(refused.length).toBeGreaterThan(0);
    expect(accepted.length).toBeGreaterThan(0);
    for (const answer of refused) {
      expect(answer.headers['retry-after']).toMatch(/^[1-9]\d*$/);
      expect(answer.headers['content-type']).toBe('application/problem+json; charset=utf-8');
      expect(JSON.parse(answer.body)).toMatchObject({
        status: 429,
        code: 'AEV_OVERLOADED',
        details: { max },
      });
    }

    // And once the load has dropped, a request is accepted again
    const after = await http.post('/v1/events', { ...seedEvent, id: 'after-the-flood' });
    expect(after.status).toBe(202);
    http.close();

    // And the log holds each accepted event exactly once, and no refused one
    expect(await server.stop()).toBe(0);
    server = undefined;
    const stored = await storedIds(database);
    expect(new Set(stored).size).toBe(stored.length);
    expect(stored.sort()).toEqual([...accepted, 'after-the-flood'].sort());
  });
});
