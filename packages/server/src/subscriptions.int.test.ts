// Goal: Server-Sent Events subscriptions over a real socket: history then live in order, filters, resume with
// Last-Event-ID without loss or duplicate, a restart of the server under a live subscription, and coded 4xx answers
// for bad requests before any stream starts. Method: the metering engine on a SQLite file, a listening Fastify
// server, and fetch reading the event stream.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventIds, readFrames } from '../../../test/support/sse.js';
import type { ListeningServer } from '../../../test/support/sqlite-seed-engine.js';
import { listenOnSeedEngine, stopListening } from '../../../test/support/sqlite-seed-engine.js';

type Running = ListeningServer;

let dir: string;
let running: Running | null = null;
let eventCounter = 0;

async function start(): Promise<Running> {
  running = await listenOnSeedEngine({
    path: join(dir, 'aevon.db'),
    engine: { subscriptionPollMs: 20 },
  });
  return running;
}

async function stopServer(server: Running): Promise<void> {
  await stopListening(server);
  if (running === server) running = null;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'aevon-sse-'));
});
afterEach(async () => {
  if (running !== null) await stopServer(running);
  rmSync(dir, { recursive: true, force: true });
});

async function ingest(url: string, principal: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i += 1) {
    eventCounter += 1;
    const id = `evt-${eventCounter}`;
    const response = await fetch(`${url}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        id,
        principal_id: principal,
        type: i % 2 === 0 ? 'api.request' : 'api.other',
        schema_version: 0,
        occurred_at: '2026-02-11T10:30:00Z',
        data: {},
      }),
    });
    expect(response.status).toBe(202);
    ids.push(id);
  }
  return ids;
}

describe('GET /v1/subscriptions (SSE)', () => {
  it('streams the history, a live marker, then new events, each with its position as id', async () => {
    const server = await start();
    const before = await ingest(server.url, 'alice', 4);
    let after: string[] = [];
    const frames = await readFrames(
      `${server.url}/v1/subscriptions?from=start`,
      (all) => eventIds(all).length === 7,
      {},
      async (frame) => {
        if (frame.event === 'live') after = await ingest(server.url, 'bob', 3);
      },
    );
    expect(eventIds(frames)).toEqual([...before, ...after]);
    expect(frames.findIndex((f) => f.event === 'live')).toBe(4);
    const first = frames[0];
    expect(first?.id).toBe(first?.data['position']);
    expect(first?.data).toMatchObject({
      stream: 'principals/alice',
      revision: '0',
      type: 'api.request',
      occurred_at: '2026-02-11T10:30:00Z',
      data: {},
    });
  });

  it('filters by principal, stream pattern and type, with checkpoints for what it skipped', async () => {
    const server = await start();
    await ingest(server.url, 'alice', 4);
    const bob = await ingest(server.url, 'bob', 4);
    await ingest(server.url, 'carol', 2);
    const byPrincipal = await readFrames(
      `${server.url}/v1/subscriptions?from=start&principal=bob&type=api.request`,
      (all) => all.some((f) => f.event === 'live'),
    );
    expect(eventIds(byPrincipal)).toEqual([bob[0], bob[2]]);
    const checkpoint = byPrincipal.at(-2);
    expect(checkpoint?.event).toBe('checkpoint');
    expect(checkpoint?.id).toBe(byPrincipal.at(-1)?.data['position']);
    const byPattern = await readFrames(
      `${server.url}/subscriptions?from=start&stream=/principals/*&stream=other/**`,
      (all) => all.some((f) => f.event === 'live'),
    );
    expect(eventIds(byPattern)).toHaveLength(10);
  });

  it('resumes after Last-Event-ID with no loss and no duplicate, across a server restart', async () => {
    const first = await start();
    const written = await ingest(first.url, 'alice', 6);
    const part = await readFrames(
      `${first.url}/v1/subscriptions?from=start`,
      (all) => eventIds(all).length === 3,
    );
    const lastId = part.filter((f) => f.event === 'event').at(-1)?.id;
    expect(lastId).toBeDefined();
    // The server goes down while a subscriber is live; it must end the stream rather than hang the shutdown.
    const live = readFrames(`${first.url}/v1/subscriptions?from=end`, () => false);
    await new Promise((resolve) => setTimeout(resolve, 100));
    await stopServer(first);
    await live;
    const second = await start();
    written.push(...(await ingest(second.url, 'alice', 2)));
    const rest = await readFrames(
      `${second.url}/v1/subscriptions?from=start`,
      (all) => all.some((f) => f.event === 'live'),
      { 'last-event-id': lastId ?? '' },
    );
    expect([...eventIds(part), ...eventIds(rest)]).toEqual(written);
  });

  it.each([
    ['from=yesterday', 'from'],
    ['stream=/a/b**', 'stream'],
    ['stream=', 'stream'],
    ['type=', 'type'],
    [`principal=${'p'.repeat(513)}`, 'principal'],
    [Array.from({ length: 33 }, (_, i) => `type=t${i}`).join('&'), 'type'],
    ['from=0000000000000000001', 'from'],
  ])('answers %s with a 400 problem before any stream', async (query, field) => {
    const server = await start();
    const response = await fetch(`${server.url}/v1/subscriptions?${query}`);
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
    expect(await response.json()).toMatchObject({
      code: 'AEV_REQUEST_INVALID',
      details: { field },
    });
  });

  it('answers HEAD and POST with 405 and Allow: GET', async () => {
    const server = await start();
    for (const method of ['HEAD', 'POST']) {
      const response = await fetch(`${server.url}/v1/subscriptions`, { method });
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe('GET');
    }
  });
});
