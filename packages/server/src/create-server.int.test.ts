// Goal: the HTTP contract of the seed on a real engine: statuses, both aliases, exact bodies. Method: the metering
// engine on an event store over SQLite `:memory:` (event log and metering store in one connection), driven with
// app.inject and a manual clock set after the quick start's hour.
import type { EventStore } from '@aevon/core';
import type { MeteringEngine } from '@aevon/engine';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSeedEngine } from '../../../test/support/sqlite-seed-engine.js';
import { createServer } from './create-server.js';
import { seedEvent, seedState, seedStateQuery } from '../../../test/support/seed-quick-start.js';

let engine: MeteringEngine;
let app: FastifyInstance;
let store: EventStore;

beforeEach(async () => {
  ({ store, engine } = createSeedEngine());
  app = createServer({ engine });
});
afterEach(async () => {
  await app.close();
  await engine.close();
});

/** The ids in the whole log, in order: what was written. */
const storedIds = async (): Promise<string[]> =>
  (await store.readAllPage({ limit: 1000 })).map((event) => event.id);

const post = (url: string, payload: unknown) =>
  app.inject({ method: 'POST', url, payload: payload as object });

describe('HTTP on a real engine', () => {
  it.each(['/v1/events', '/v1/ingest'])('runs the quick start through %s', async (url) => {
    const accepted = await post(url, seedEvent);
    expect(accepted.statusCode).toBe(202);
    expect(accepted.json()).toEqual({ status: 'accepted' });
    for (const path of ['/v1/state', '/v1/aggregates']) {
      const state = await app.inject({ method: 'GET', url: `${path}/user_123?${seedStateQuery}` });
      expect(state.statusCode).toBe(200);
      expect(state.json()).toEqual(seedState);
    }
    const duplicate = await post(url, seedEvent);
    expect(duplicate.statusCode).toBe(409);
    expect(duplicate.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    expect(duplicate.json()).toMatchObject({ status: 409, code: 'AEV_EVENT_ID_DUPLICATE' });
    expect(await storedIds()).toEqual(['evt-001']);
  });

  it('counts the event once after a sweep as before it', async () => {
    await post('/v1/events', seedEvent);
    await engine.sweep();
    const state = await app.inject({ method: 'GET', url: `/v1/state/user_123?${seedStateQuery}` });
    expect(state.json()).toEqual(seedState);
  });

  it('answers a missing field with 400 AEV_REQUEST_INVALID', async () => {
    const response = await post('/v1/events', { ...seedEvent, id: undefined });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ code: 'AEV_REQUEST_INVALID' });
    expect(await storedIds()).toEqual([]);
  });

  it('answers a body that is not JSON with 400 AEV_REQUEST_INVALID, and writes nothing', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { 'content-type': 'application/json' },
      payload: '{"id": "evt-001",',
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ code: 'AEV_REQUEST_INVALID' });
    expect(await storedIds()).toEqual([]);
  });

  it('answers an unknown rule with 400 AEV_RULE_UNKNOWN', async () => {
    const response = await app.inject({
      method: 'GET',
      url: `/v1/state/user_123?${seedStateQuery.replace('count_api', 'x')}`,
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ code: 'AEV_RULE_UNKNOWN' });
  });

  it('answers a missing start with 400 AEV_REQUEST_INVALID', async () => {
    const response = await app.inject({
      method: 'GET',
      url: '/v1/state/user_123?rule=count_api_requests',
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ code: 'AEV_REQUEST_INVALID' });
  });

  it('answers a batch with one result per event', async () => {
    await post('/v1/events', seedEvent);
    const response = await post('/v1/events/batch', {
      events: [{ ...seedEvent, id: 'evt-002' }, seedEvent, { id: 'x' }],
    });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      results: [
        { id: 'evt-002', status: 'accepted' },
        { id: 'evt-001', status: 'duplicate', code: 'AEV_EVENT_ID_DUPLICATE' },
        { status: 'rejected', code: 'AEV_REQUEST_INVALID' },
      ],
      accepted: 1,
      duplicates: 1,
      rejected: 1,
    });
    // The duplicate and the rejected item wrote nothing; their neighbour was written
    expect(await storedIds()).toEqual(['evt-001', 'evt-002']);
  });

  it('answers /health and /ready with 200', async () => {
    expect((await app.inject({ method: 'GET', url: '/health' })).json()).toEqual({ status: 'ok' });
    const ready = await app.inject({ method: 'GET', url: '/ready' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready' });
  });
});
