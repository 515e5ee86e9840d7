// Goal: the HTTP edge on its own. Method: a stub engine whose methods throw chosen errors, driven with app.inject, so
// that every error code, every transport failure and the problem+json shape are checked without a database.
import type { ErrorCode, ErrorDetailsByCode } from '@aevon/core';
import { AevonError, AssertionError, errorCodes } from '@aevon/core';
import type {
  BatchItemResult,
  MeteringEngine,
  StateQueryInput,
  StateResponse,
} from '@aevon/engine';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { createServer } from './create-server.js';
import { problemTypeBase } from './http/problem.js';
import { httpStatusByCode } from './http/status-by-code.js';
import { seedEvent as envelope } from '../../../test/support/seed-quick-start.js';

const sampleDetails: { [C in ErrorCode]: ErrorDetailsByCode[C] } = {
  AEV_REQUEST_INVALID: { reason: 'is required', field: 'id' },
  AEV_STREAM_NOT_FOUND: { stream: 'principals/x' },
  AEV_STREAM_VERSION_MISMATCH: { stream: 's', expected: '1', actual: '2' },
  AEV_EVENT_ID_DUPLICATE: {
    id: 'evt-001',
    stream: 'principals/user_123',
    revision: '0',
    position: '1',
  },
  AEV_APPEND_BATCH_TOO_LARGE: { count: 10_001, max: 10_000 },
  AEV_EVENT_DATA_TOO_LARGE: { id: 'e', bytes: 2_000_000, max: 1_048_576 },
  AEV_READ_LIMIT_TOO_LARGE: { limit: 20_000, max: 10_000 },
  AEV_SCHEMA_VALIDATION_FAILED: {
    type: 'api.request',
    schemaVersion: 1,
    errors: ['/n must be integer'],
  },
  AEV_RULE_UNKNOWN: { rule: 'nope' },
  AEV_CONFIG_INVALID: { reason: 'bad' },
  AEV_OVERLOADED: { queued: 10, max: 10, retryAfterMs: 1500 },
  AEV_STORAGE_UNAVAILABLE: { reason: 'connection refused' },
  AEV_STORAGE_SCHEMA_MISMATCH: { expected: 2, actual: 1 },
  AEV_NOT_FOUND: { resource: 'thing' },
  AEV_INTERNAL: { requestId: 'x' },
  AEV_UNAUTHENTICATED: { reason: 'no Authorization header' },
  AEV_FORBIDDEN: { keyId: '0123456789abcdef', scope: 'events:write' },
  AEV_DDL_INVALID: { reason: 'expected a type, found "strng"', line: 3, column: 8 },
  AEV_EVENT_DATA_INVALID: {
    stream: 'account_events',
    eventType: 'account_created',
    field: 'name',
    reason: 'must be at most 40 characters',
  },
  AEV_AGGREGATE_CONFLICT: {
    aggregate: 'account',
    column: 'id',
    constraint: 'references',
    reason: 'no account has id 123',
  },
  AEV_DEFINITIONS_CHANGED: { expected: 3, actual: 4 },
  AEV_MIGRATION_INVALID: { reason: 'applied, then edited', file: 'migrations/0001_init.sql' },
  AEV_SQL_INVALID: { reason: 'only SELECT or WITH queries are allowed' },
  AEV_SQL_TIMEOUT: { timeoutMs: 5000 },
};

const stateResponse: StateResponse = {
  principal_id: 'user_123',
  rule: 'count_api_requests',
  operator: 'count',
  start: '2026-02-11T10:00:00Z',
  end: '2026-02-11T11:00:00Z',
  granularity: 'total',
  data_through: '2026-02-11T11:00:00Z',
  staleness_seconds: 0,
  values: [],
};

interface StubEngine extends MeteringEngine {
  failure: Error | undefined;
  readonly ingested: unknown[];
  readonly queries: StateQueryInput[];
}

function createStubEngine(): StubEngine {
  const engine: StubEngine = {
    failure: undefined,
    ingested: [],
    queries: [],
    rules: new Map(),
    ingest: async (body) => {
      if (engine.failure !== undefined) throw engine.failure;
      engine.ingested.push(body);
    },
    ingestBatch: async (bodies) => {
      if (engine.failure !== undefined) throw engine.failure;
      return bodies.map((body, index): BatchItemResult => {
        const id = `e${index}`;
        if (index === 1)
          return { id, status: 'duplicate', code: 'AEV_EVENT_ID_DUPLICATE', detail: 'dup' };
        if (body === null)
          return { id: null, status: 'rejected', code: 'AEV_REQUEST_INVALID', detail: 'bad' };
        return { id, status: 'accepted' };
      });
    },
    queryState: async (query) => {
      if (engine.failure !== undefined) throw engine.failure;
      engine.queries.push(query);
      return stateResponse;
    },
    sweep: async () => 0,
    openSubscription: async () => {
      if (engine.failure !== undefined) throw engine.failure;
      return (async function* () {})();
    },
    // Named subscriptions are not under test here (subscriptions.int.test.ts covers them on a real engine).
    namedSubscriptions: new Proxy({} as MeteringEngine['namedSubscriptions'], {
      get: () => () => Promise.reject(new Error('named subscriptions are not used in this test')),
    }),
    start: () => undefined,
    ready: async () => {
      if (engine.failure !== undefined) throw engine.failure;
    },
    close: async () => undefined,
  };
  return engine;
}

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

function setup(options: { bodyLimitBytes?: number; batchEventsMax?: number } = {}): {
  app: FastifyInstance;
  engine: StubEngine;
} {
  const engine = createStubEngine();
  app = createServer({ engine, ...options });
  return { app, engine };
}

function expectProblem(
  response: { headers: Record<string, unknown>; json(): unknown },
  code: ErrorCode,
): void {
  expect(response.headers['content-type']).toBe('application/problem+json; charset=utf-8');
  const body = response.json() as Record<string, unknown>;
  expect(body).toMatchObject({ type: `${problemTypeBase}${code}`, code });
  expect(Object.keys(body).sort()).toEqual(
    ['code', 'detail', 'details', 'instance', 'request_id', 'status', 'title', 'type'].sort(),
  );
  expect(body['instance']).toBe(`urn:aevon:request:${String(body['request_id'])}`);
  expect(response.headers['x-request-id']).toBe(body['request_id']);
}

describe('createServer: the write path', () => {
  it.each(['/v1/events', '/v1/ingest'])(
    'accepts one event on %s with 202 {"status":"accepted"}',
    async (url) => {
      // Given
      const { app, engine } = setup();
      // When
      const response = await app.inject({ method: 'POST', url, payload: envelope });
      // Then
      expect(response.statusCode).toBe(202);
      expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(response.body).toBe('{"status":"accepted"}');
      expect(engine.ingested).toEqual([envelope]);
    },
  );

  it.each([
    ['/v1/events/batch', [envelope, envelope, null]],
    ['/v1/events/batch', { events: [envelope, envelope, null] }],
    ['/v1/events', [envelope, envelope, null]],
  ])('answers a batch on %s with per-event results and counts', async (url, payload) => {
    const { app } = setup();
    const response = await app.inject({ method: 'POST', url, payload });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({
      results: [
        { id: 'e0', status: 'accepted' },
        { id: 'e1', status: 'duplicate', code: 'AEV_EVENT_ID_DUPLICATE', detail: 'dup' },
        { id: null, status: 'rejected', code: 'AEV_REQUEST_INVALID', detail: 'bad' },
      ],
      accepted: 1,
      duplicates: 1,
      rejected: 1,
    });
  });

  it('refuses a batch above the event maximum with 413 AEV_APPEND_BATCH_TOO_LARGE', async () => {
    const { app } = setup({ batchEventsMax: 2 });
    const response = await app.inject({
      method: 'POST',
      url: '/v1/events/batch',
      payload: [1, 2, 3],
    });
    expect(response.statusCode).toBe(413);
    expectProblem(response, 'AEV_APPEND_BATCH_TOO_LARGE');
    expect(response.json()).toMatchObject({ details: { count: 3, max: 2 } });
  });

  it.each([[[]], [{ events: 'x' }], ['"text"']])(
    'refuses a batch body %j with 400',
    async (payload) => {
      const { app } = setup();
      const response = await app.inject({
        method: 'POST',
        url: '/v1/events/batch',
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify(payload),
      });
      expect(response.statusCode).toBe(400);
      expectProblem(response, 'AEV_REQUEST_INVALID');
    },
  );
});

describe('createServer: errors', () => {
  it.each(errorCodes.map((code) => [code]))(
    'answers %s with its table status as problem+json',
    async (code) => {
      // Given an engine that throws the code
      const { app, engine } = setup();
      engine.failure = new AevonError(code, sampleDetails[code]);
      // When
      const response = await app.inject({ method: 'POST', url: '/v1/events', payload: envelope });
      // Then
      expect(response.statusCode).toBe(httpStatusByCode[code]);
      expectProblem(response, code);
      const body = response.json<Record<string, unknown>>();
      expect(body['status']).toBe(httpStatusByCode[code]);
      if (code !== 'AEV_INTERNAL') expect(body['details']).toEqual(sampleDetails[code]);
    },
  );

  it('sends Retry-After in whole seconds with 429 AEV_OVERLOADED', async () => {
    const { app, engine } = setup();
    engine.failure = new AevonError('AEV_OVERLOADED', { queued: 5, max: 5, retryAfterMs: 1500 });
    const response = await app.inject({ method: 'POST', url: '/v1/events', payload: envelope });
    expect(response.statusCode).toBe(429);
    expect(response.headers['retry-after']).toBe('2');
  });

  it('answers an unknown error with 500 AEV_INTERNAL and never its message', async () => {
    const { app, engine } = setup();
    engine.failure = new Error('secret connection string postgres://u:p@h');
    const response = await app.inject({ method: 'POST', url: '/v1/events', payload: envelope });
    expect(response.statusCode).toBe(500);
    expectProblem(response, 'AEV_INTERNAL');
    expect(response.body).not.toContain('secret');
    const body = response.json<{ request_id: string; details: unknown }>();
    expect(body.details).toEqual({ requestId: body.request_id });
  });

  it('reports a programmer error to onProgrammerError after answering 500', async () => {
    const engine = createStubEngine();
    const seen: Error[] = [];
    app = createServer({ engine, onProgrammerError: (error) => seen.push(error) });
    engine.failure = new AssertionError('broken invariant');
    const response = await app.inject({ method: 'POST', url: '/v1/events', payload: envelope });
    expect(response.statusCode).toBe(500);
    expect(response.body).not.toContain('broken invariant');
    expect(seen).toHaveLength(1);
  });

  it('answers malformed JSON with 400 AEV_REQUEST_INVALID', async () => {
    const { app } = setup();
    const response = await app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { 'content-type': 'application/json' },
      payload: '{"id": ',
    });
    expect(response.statusCode).toBe(400);
    expectProblem(response, 'AEV_REQUEST_INVALID');
  });

  it('answers an empty JSON body with 400 AEV_REQUEST_INVALID', async () => {
    const { app } = setup();
    const response = await app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { 'content-type': 'application/json' },
      payload: '',
    });
    expect(response.statusCode).toBe(400);
    expectProblem(response, 'AEV_REQUEST_INVALID');
  });

  it('answers a prototype-poisoning body with 400 AEV_REQUEST_INVALID', async () => {
    const { app } = setup();
    const response = await app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { 'content-type': 'application/json' },
      payload: '{"__proto__": {"x": 1}}',
    });
    expect(response.statusCode).toBe(400);
    expectProblem(response, 'AEV_REQUEST_INVALID');
  });

  it.each(['text/plain', 'application/x-www-form-urlencoded'])(
    'answers Content-Type %s with 415',
    async (type) => {
      const { app } = setup();
      const response = await app.inject({
        method: 'POST',
        url: '/v1/events',
        headers: { 'content-type': type },
        payload: JSON.stringify(envelope),
      });
      expect(response.statusCode).toBe(415);
      expectProblem(response, 'AEV_REQUEST_INVALID');
      expect(response.json()).toMatchObject({ status: 415, details: { field: 'content-type' } });
    },
  );

  it('answers a body above the limit with 413 AEV_EVENT_DATA_TOO_LARGE', async () => {
    const { app, engine } = setup({ bodyLimitBytes: 1024 });
    const payload = JSON.stringify({ ...envelope, data: { blob: 'x'.repeat(4096) } });
    const response = await app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { 'content-type': 'application/json' },
      payload,
    });
    expect(response.statusCode).toBe(413);
    expectProblem(response, 'AEV_EVENT_DATA_TOO_LARGE');
    expect(response.json()).toMatchObject({
      details: { max: 1024, bytes: Buffer.byteLength(payload) },
    });
    expect(engine.ingested).toEqual([]);
  });

  it('answers an unknown route with 404 AEV_NOT_FOUND', async () => {
    const { app } = setup();
    const response = await app.inject({ method: 'GET', url: '/v2/nothing?x=1' });
    expect(response.statusCode).toBe(404);
    expectProblem(response, 'AEV_NOT_FOUND');
    expect(response.json()).toMatchObject({ details: { resource: 'GET /v2/nothing' } });
  });

  it.each([
    ['GET', '/v1/events', 'POST'],
    ['DELETE', '/v1/state/user_123', 'GET, HEAD'],
    ['PUT', '/health', 'GET, HEAD'],
  ] as const)('answers %s %s with 405 and Allow', async (method, url, allow) => {
    const { app } = setup();
    const response = await app.inject({ method, url });
    expect(response.statusCode).toBe(405);
    expect(response.headers['allow']).toBe(allow);
    expectProblem(response, 'AEV_REQUEST_INVALID');
  });
});

describe('createServer: the read path and probes', () => {
  it.each(['/v1/state', '/v1/aggregates'])(
    'passes %s queries to the engine and answers 200',
    async (path) => {
      const { app, engine } = setup();
      const query =
        'rule=count_api_requests&start=2026-02-11T10:00:00Z&end=2026-02-11T11:00:00Z&granularity=total';
      const response = await app.inject({ method: 'GET', url: `${path}/user_123?${query}` });
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual(stateResponse);
      expect(engine.queries).toEqual([
        {
          principalId: 'user_123',
          rule: 'count_api_requests',
          start: '2026-02-11T10:00:00Z',
          end: '2026-02-11T11:00:00Z',
          granularity: 'total',
        },
      ]);
    },
  );

  it('answers an unknown rule with 400 AEV_RULE_UNKNOWN', async () => {
    const { app, engine } = setup();
    engine.failure = new AevonError('AEV_RULE_UNKNOWN', { rule: 'nope' });
    const response = await app.inject({ method: 'GET', url: '/v1/state/u?rule=nope' });
    expect(response.statusCode).toBe(400);
    expectProblem(response, 'AEV_RULE_UNKNOWN');
  });

  it('answers /health with 200 {"status":"ok"} even when the database is down', async () => {
    const { app, engine } = setup();
    engine.failure = new AevonError('AEV_STORAGE_UNAVAILABLE', { reason: 'down' });
    const response = await app.inject({ method: 'GET', url: '/health' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok' });
  });

  it('answers /ready with 200 when the engine is ready, and 503 otherwise', async () => {
    const { app, engine } = setup();
    const ready = await app.inject({ method: 'GET', url: '/ready' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready' });
    engine.failure = new Error('socket hang up');
    const notReady = await app.inject({ method: 'GET', url: '/ready' });
    expect(notReady.statusCode).toBe(503);
    expectProblem(notReady, 'AEV_STORAGE_UNAVAILABLE');
    expect(notReady.body).not.toContain('socket hang up');
  });
});
