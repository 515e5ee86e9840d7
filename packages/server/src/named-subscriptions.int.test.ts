// Goal: durable named subscriptions over real HTTP: define, stream from the stored checkpoint, acknowledge, exact
// status numbers, resume after a server restart without loss, and coded 4xx answers. Method: the metering engine
// with its named subscriptions on one SQLite file, a listening Fastify server, fetch, and a manual clock (so that
// recorded_at, and so lag_seconds, is known).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createManualClock } from '@aevon/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Frame } from '../../../test/support/sse.js';
import { eventIds, readFrames } from '../../../test/support/sse.js';
import type { ListeningServer } from '../../../test/support/sqlite-seed-engine.js';
import { listenOnSeedEngine, stopListening } from '../../../test/support/sqlite-seed-engine.js';

type Running = ListeningServer;

const t0 = Date.parse('2026-02-12T00:00:00Z');
let clock = createManualClock(t0);
let dir: string;
let running: Running | null = null;
let eventCounter = 0;

async function start(): Promise<Running> {
  running = await listenOnSeedEngine({
    path: join(dir, 'aevon.db'),
    clock,
    engine: { subscriptionPollMs: 20 },
  });
  return running;
}

async function stopServer(server: Running): Promise<void> {
  await stopListening(server);
  if (running === server) running = null;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'aevon-named-'));
  clock = createManualClock(t0);
});
afterEach(async () => {
  if (running !== null) await stopServer(running);
  rmSync(dir, { recursive: true, force: true });
});

/** Ingests events of the given types for a principal; returns their ids. */
async function ingest(url: string, principal: string, types: readonly string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const type of types) {
    eventCounter += 1;
    const id = `evt-${eventCounter}`;
    const response = await fetch(`${url}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        id,
        principal_id: principal,
        type,
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

async function call(
  url: string,
  method: string,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const response = await fetch(url, {
    method,
    ...(body === undefined
      ? {}
      : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
    headers: response.headers,
  };
}

/** The log's positions, in order, read through the ad-hoc SSE stream. */
async function logPositions(url: string): Promise<string[]> {
  const frames = await readFrames(`${url}/v1/subscriptions?from=start`, (all) =>
    all.some((f) => f.event === 'live'),
  );
  return frames.filter((f) => f.event === 'event').map((f) => String(f.id));
}

const untilLive = (all: readonly Frame[]) => all.some((f) => f.event === 'live');

describe('named subscriptions over HTTP', () => {
  it('creates, updates, lists and deletes a subscription', async () => {
    const { url } = await start();
    await ingest(url, 'alice', ['api.request']);
    const [head] = await logPositions(url);
    // When: created without `from`, it starts at the log's end
    const created = await call(`${url}/v1/subscriptions/billing`, 'PUT', {
      filter: { streams: ['/principals/*'], types: ['api.request'] },
    });
    // Then
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe('/v1/subscriptions/billing');
    expect(created.body).toEqual({
      name: 'billing',
      filter: { streams: ['/principals/*'], types: ['api.request'], principals: [] },
      position: head,
      created_at: '2026-02-12T00:00:00.000Z',
      updated_at: '2026-02-12T00:00:00.000Z',
    });
    // When: updated without `from`, it keeps its checkpoint; with `from: start`, it goes back
    clock.advance(1_000);
    const updated = await call(`${url}/v1/subscriptions/billing`, 'PUT', {
      filter: { principals: ['bob'] },
    });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({
      filter: { streams: [], types: [], principals: ['bob'] },
      position: head,
      updated_at: '2026-02-12T00:00:01.000Z',
    });
    const rewound = await call(`${url}/v1/subscriptions/billing`, 'PUT', { from: 'start' });
    expect(rewound.body).toMatchObject({ position: null, filter: { principals: [] } });
    await call(`${url}/v1/subscriptions/audit`, 'PUT');
    const list = await call(`${url}/v1/named-subscriptions`, 'GET');
    expect((list.body['subscriptions'] as { name: string }[]).map((s) => s.name)).toEqual([
      'audit',
      'billing',
    ]);
    // When: deleted
    expect((await call(`${url}/v1/subscriptions/billing`, 'DELETE')).status).toBe(204);
    // Then
    expect((await call(`${url}/v1/subscriptions/billing`, 'GET')).status).toBe(404);
    expect((await call(`${url}/v1/subscriptions/billing`, 'DELETE')).status).toBe(404);
  });

  it('reports exact status numbers: position, head, lag in events and seconds', async () => {
    // Given: request, other at t0; request, other at t0 + 30 s; now t0 + 100 s
    const { url } = await start();
    await ingest(url, 'alice', ['api.request', 'api.other']);
    clock.advance(30_000);
    await ingest(url, 'bob', ['api.request', 'api.other']);
    clock.advance(70_000);
    const positions = await logPositions(url);
    await call(`${url}/v1/subscriptions/requests`, 'PUT', {
      filter: { types: ['api.request'] },
      from: 'start',
    });
    const status = async () => (await call(`${url}/v1/subscriptions/requests`, 'GET')).body;
    // Then
    expect(await status()).toMatchObject({
      position: null,
      head_position: positions[3],
      lag_events: 2,
      lag_events_exact: true,
      lag_seconds: 100,
    });
    // When: acknowledged up to the second event (not matching: a checkpoint position)
    const acked = await call(`${url}/v1/subscriptions/requests/ack`, 'POST', {
      position: positions[1],
    });
    // Then
    expect(acked).toMatchObject({ status: 200, body: { position: positions[1] } });
    expect(await status()).toMatchObject({ lag_events: 1, lag_seconds: 70 });
    // When: caught up, then a late acknowledgement of an older position
    await call(`${url}/v1/subscriptions/requests/ack`, 'POST', { position: positions[3] });
    const late = await call(`${url}/v1/subscriptions/requests/ack`, 'POST', {
      position: positions[0],
    });
    // Then: the older position is ignored
    expect(late).toMatchObject({ status: 200, body: { position: positions[3] } });
    expect(await status()).toMatchObject({
      position: positions[3],
      head_position: positions[3],
      lag_events: 0,
      lag_events_exact: true,
      lag_seconds: 0,
    });
  });

  it('streams from the stored checkpoint, and Last-Event-ID wins over it', async () => {
    const { url } = await start();
    const ids = await ingest(url, 'alice', ['a', 'b', 'c', 'd', 'e']);
    const positions = await logPositions(url);
    await call(`${url}/v1/subscriptions/p`, 'PUT', { from: positions[1] });
    // When: streamed from the stored checkpoint, with a new event arriving live
    let live: string[] = [];
    const frames = await readFrames(
      `${url}/v1/subscriptions/p/events`,
      (all) => eventIds(all).length === 4,
      {},
      async (frame) => {
        if (frame.event === 'live') live = await ingest(url, 'bob', ['f']);
      },
    );
    // Then
    expect(eventIds(frames)).toEqual([...ids.slice(2), ...live]);
    const resumed = await readFrames(`${url}/v1/subscriptions/p/events`, untilLive, {
      'last-event-id': positions[3] ?? '',
    });
    expect(eventIds(resumed)).toEqual([ids[4], ...live]);
  });

  it('resumes from the acknowledged checkpoint after a server restart, without loss', async () => {
    // Given: a consumer acknowledging each event it handles, until the server goes down under it
    const first = await start();
    const written = await ingest(first.url, 'alice', ['a', 'b', 'c', 'd']);
    await call(`${first.url}/v1/subscriptions/consumer`, 'PUT', {
      filter: { principals: ['alice'] },
      from: 'start',
    });
    const handled: unknown[] = [];
    const ack = async (baseUrl: string, frame: Frame) => {
      if (frame.event === 'event') handled.push(frame.data['id']);
      if (frame.event !== 'event' && frame.event !== 'checkpoint') return;
      const response = await call(`${baseUrl}/v1/subscriptions/consumer/ack`, 'POST', {
        position: frame.id,
      });
      expect(response.status).toBe(200);
    };
    await readFrames(
      `${first.url}/v1/subscriptions/consumer/events`,
      () => handled.length === 2,
      {},
      (frame) => ack(first.url, frame),
    );
    await stopServer(first);
    // When: the server restarts on the same database and more events arrive
    const second = await start();
    written.push(...(await ingest(second.url, 'alice', ['e'])));
    await ingest(second.url, 'bob', ['ignored']);
    await readFrames(`${second.url}/v1/subscriptions/consumer/events`, untilLive, {}, (frame) =>
      ack(second.url, frame),
    );
    // Then: every event once, in order, and the checkpoint at the log's head
    expect(handled).toEqual(written);
    const status = await call(`${second.url}/v1/subscriptions/consumer`, 'GET');
    expect(status.body).toMatchObject({ lag_events: 0, lag_seconds: 0 });
    expect(status.body['position']).toBe(status.body['head_position']);
  });

  it.each<[string, string, string, unknown]>([
    ['GET', '/v1/subscriptions/nobody', 'AEV_NOT_FOUND', undefined],
    ['DELETE', '/v1/subscriptions/nobody', 'AEV_NOT_FOUND', undefined],
    ['GET', '/v1/subscriptions/nobody/events', 'AEV_NOT_FOUND', undefined],
    ['POST', '/v1/subscriptions/nobody/ack', 'AEV_NOT_FOUND', { position: '00000000000000000001' }],
  ])('answers %s %s with 404 %s', async (method, path, code, body) => {
    const { url } = await start();
    await ingest(url, 'alice', ['a']);
    const response = await call(`${url}${path}`, method, body);
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
    expect(response.body).toMatchObject({ code, details: { resource: 'subscription nobody' } });
  });

  it.each<[string, string, string, unknown, string]>([
    ['a bad name', 'PUT', '/v1/subscriptions/a%20b', {}, 'name'],
    ['a bad name on a stream', 'GET', '/v1/subscriptions/-x/events', undefined, 'name'],
    ['a body that is not an object', 'PUT', '/v1/subscriptions/p', [1], 'body'],
    ['an unknown field', 'PUT', '/v1/subscriptions/p', { filters: {} }, 'body'],
    [
      'a filter list that is a string',
      'PUT',
      '/v1/subscriptions/p',
      { filter: { types: 'a' } },
      'filter.types',
    ],
    [
      'a bad stream pattern',
      'PUT',
      '/v1/subscriptions/p',
      { filter: { streams: ['/a/b**'] } },
      'stream',
    ],
    ['a bad from', 'PUT', '/v1/subscriptions/p', { from: 'yesterday' }, 'from'],
    [
      'a from the log never produced',
      'PUT',
      '/v1/subscriptions/p',
      { from: '00000000000000000099' },
      'from',
    ],
    ['an ack without a position', 'POST', '/v1/subscriptions/known/ack', {}, 'position'],
    [
      'an ack of a malformed position',
      'POST',
      '/v1/subscriptions/known/ack',
      { position: 7 },
      'position',
    ],
    [
      'an ack of a position the log never produced',
      'POST',
      '/v1/subscriptions/known/ack',
      { position: '00000000000000000099' },
      'position',
    ],
    [
      'an ack with another field',
      'POST',
      '/v1/subscriptions/known/ack',
      { position: '00000000000000000001', x: 1 },
      'body',
    ],
    [
      'an ack beyond a 64-bit position',
      'POST',
      '/v1/subscriptions/known/ack',
      { position: '99999999999999999999' },
      'position',
    ],
  ])('answers %s with 400 AEV_REQUEST_INVALID', async (_, method, path, body, field) => {
    const { url } = await start();
    await ingest(url, 'alice', ['a']);
    await call(`${url}/v1/subscriptions/known`, 'PUT', { from: 'start' });
    const response = await call(`${url}${path}`, method, body);
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ code: 'AEV_REQUEST_INVALID', details: { field } });
    // Nothing was written: `known` keeps its checkpoint, and no other subscription exists
    const list = await call(`${url}/v1/named-subscriptions`, 'GET');
    expect(list.body['subscriptions']).toMatchObject([{ name: 'known', position: null }]);
  });

  it('answers other methods with 405 and the allowed ones', async () => {
    const { url } = await start();
    const cases: [string, string, string][] = [
      ['POST', '/v1/subscriptions/p', 'GET, HEAD, PUT, DELETE'],
      ['POST', '/v1/subscriptions/p/events', 'GET'],
      ['GET', '/v1/subscriptions/p/ack', 'POST'],
      ['DELETE', '/v1/named-subscriptions', 'GET, HEAD'],
    ];
    for (const [method, path, allow] of cases) {
      const response = await fetch(`${url}${path}`, { method });
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe(allow);
    }
  });
});
