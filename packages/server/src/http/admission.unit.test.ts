// Goal: the server's bounds on work in progress, on their own. Method: a stub engine whose ingest and state query
// wait on a gate the test opens, driven with app.inject, so that the requests in flight are known exactly.
import { AevonError } from '@aevon/core';
import type { MeteringEngine, StateResponse } from '@aevon/engine';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { createServer } from '../create-server.js';
import { seedEvent } from '../../../../test/support/seed-quick-start.js';

interface Gate {
  readonly wait: () => Promise<void>;
  readonly open: () => void;
  readonly waiting: () => number;
}

function createGate(): Gate {
  let release: () => void = () => undefined;
  let count = 0;
  const opened = new Promise<void>((resolve) => (release = resolve));
  return {
    wait: async () => {
      count += 1;
      await opened;
    },
    open: () => release(),
    waiting: () => count,
  };
}

function createGatedEngine(gate: Gate): MeteringEngine {
  return {
    rules: new Map(),
    ingest: () => gate.wait(),
    ingestBatch: async () => [],
    queryState: async () => {
      await gate.wait();
      return {} as StateResponse;
    },
    sweep: async () => 0,
    openSubscription: async () => (async function* () {})(),
    // Named subscriptions are not under test here (subscriptions.int.test.ts covers them on a real engine).
    namedSubscriptions: new Proxy({} as MeteringEngine['namedSubscriptions'], {
      get: () => () => Promise.reject(new Error('named subscriptions are not used in this test')),
    }),
    start: () => undefined,
    ready: async () => undefined,
    close: async () => undefined,
  };
}

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

/** Resolves once `predicate` holds, checking after each macrotask (no timers, no sleeps). */
async function until(predicate: () => boolean): Promise<void> {
  for (let turn = 0; turn < 1000 && !predicate(); turn += 1) {
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  expect(predicate()).toBe(true);
}

describe('admission', () => {
  it('answers a request beyond requestsInFlightMax with 429, Retry-After and problem+json', async () => {
    // Given a server that handles 2 requests at once, both taken by ingests held at the gate
    const gate = createGate();
    const server = createServer({ engine: createGatedEngine(gate), requestsInFlightMax: 2 });
    app = server;
    const post = () => server.inject({ method: 'POST', url: '/v1/events', payload: seedEvent });
    const held = [post(), post()];
    await until(() => gate.waiting() === 2);

    // When a third arrives, and a probe of /health and /ready
    const third = await post();
    const health = await server.inject({ method: 'GET', url: '/health' });
    const ready = await server.inject({ method: 'GET', url: '/ready' });

    // Then the third is turned away and the probes are not
    expect(third.statusCode).toBe(429);
    expect(third.headers['retry-after']).toBe('1');
    expect(third.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    expect(third.json()).toMatchObject({ code: 'AEV_OVERLOADED', details: { queued: 2, max: 2 } });
    expect(health.statusCode).toBe(200);
    expect(ready.statusCode).toBe(200);
    expect(gate.waiting()).toBe(2);

    // And once the held requests finish, a request is admitted again
    gate.open();
    for (const response of await Promise.all(held)) expect(response.statusCode).toBe(202);
    expect((await post()).statusCode).toBe(202);
  });

  it('answers a state query beyond stateQueriesInFlightMax with 429 and Retry-After', async () => {
    // Given a server that answers 1 state query at once, taken by a query held at the gate
    const gate = createGate();
    const server = createServer({ engine: createGatedEngine(gate), stateQueriesInFlightMax: 1 });
    app = server;
    const get = () => server.inject({ method: 'GET', url: '/v1/state/user_123?rule=r' });
    const held = get();
    await until(() => gate.waiting() === 1);

    // When a second query arrives while an ingest is still admitted
    const second = await get();

    // Then it is turned away, and it is admitted again after the first one finished
    expect(second.statusCode).toBe(429);
    expect(second.headers['retry-after']).toBe('1');
    expect(second.json()).toMatchObject({ code: 'AEV_OVERLOADED', details: { max: 1 } });
    gate.open();
    expect((await held).statusCode).toBe(200);
    expect((await get()).statusCode).toBe(200);
  });

  it('sends Retry-After with every 503 AEV_STORAGE_UNAVAILABLE', async () => {
    // Given a server whose engine reports the database down
    const engine = createGatedEngine(createGate());
    const down = async (): Promise<never> => {
      throw new AevonError('AEV_STORAGE_UNAVAILABLE', { reason: 'connection refused' });
    };
    app = createServer({ engine: { ...engine, ingest: down, ready: down } });

    // When an event is posted and readiness is probed
    const ingest = await app.inject({ method: 'POST', url: '/v1/events', payload: seedEvent });
    const ready = await app.inject({ method: 'GET', url: '/ready' });

    // Then both are 503 with Retry-After
    for (const response of [ingest, ready]) {
      expect(response.statusCode).toBe(503);
      expect(response.headers['retry-after']).toBe('1');
    }
  });
});
