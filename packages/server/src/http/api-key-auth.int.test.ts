// Goal: API key authentication on the real HTTP stack: who gets 401, 403 or through, that a refused request writes
// nothing, when authentication turns on, how fast a revocation bites, and that keys never reach the log. Method: the
// metering engine and the API key store on one SQLite `:memory:` database, driven with app.inject and a manual clock.
import type { ApiKeyScope, ApiKeyStore, EventStore } from '@aevon/core';
import { createManualClock, formatApiKey, formatTimestamp } from '@aevon/core';
import type { MeteringEngine } from '@aevon/engine';
import { createSqliteApiKeyStore } from '@aevon/sqlite';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSeedEngine } from '../../../../test/support/sqlite-seed-engine.js';
import { seedEvent, seedStatePath } from '../../../../test/support/seed-quick-start.js';
import type { ServerOptions } from '../create-server.js';
import { createServer } from '../create-server.js';
import type { ApiKeyAuthOptions } from './api-key-auth.js';
import { hashApiKeySecret } from './api-key-auth.js';

const clock = createManualClock(Date.parse('2026-02-12T00:00:00Z'));
let engine: MeteringEngine;
let store: EventStore;
let keys: ApiKeyStore;
let app: FastifyInstance | undefined;

beforeEach(() => {
  const seed = createSeedEngine({ clock });
  ({ store, engine } = seed);
  keys = createSqliteApiKeyStore(seed.storage);
});
afterEach(async () => {
  await app?.close();
  app = undefined;
  await engine.close();
});

function start(
  auth: Partial<ApiKeyAuthOptions> = {},
  extra: Partial<ServerOptions> = {},
): FastifyInstance {
  app = createServer({ engine, apiKeys: { store: keys, clock, ...auth }, ...extra });
  return app;
}

let keyCount = 0;

/** Creates a key with `scopes` in the store and returns it as a client would send it. */
async function createKey(...scopes: ApiKeyScope[]): Promise<{ id: string; key: string }> {
  keyCount += 1;
  const id = keyCount.toString(16).padStart(16, '0');
  const secret = `${keyCount}`.padEnd(43, 'S');
  await keys.create({
    id,
    name: `test ${keyCount}`,
    scopes,
    secretHash: hashApiKeySecret(secret),
    createdAt: formatTimestamp(clock.nowMs()),
    revokedAt: null,
  });
  return { id, key: formatApiKey({ id, secret }) };
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

const postEvent = (headers: Record<string, string> = {}, event: object = seedEvent) =>
  app?.inject({ method: 'POST', url: '/v1/events', headers, payload: event }) ??
  Promise.reject(new Error('no app'));

const getState = (headers: Record<string, string> = {}) =>
  app?.inject({ method: 'GET', url: seedStatePath, headers }) ??
  Promise.reject(new Error('no app'));

/** The ids in the whole log: what was written. */
const storedIds = async (): Promise<string[]> =>
  (await store.readAllPage({ limit: 1000 })).map((event) => event.id);

describe('API keys: when authentication is on', () => {
  it('leaves every route open while no key was ever created', async () => {
    start();
    expect((await postEvent()).statusCode).toBe(202);
    expect((await getState()).statusCode).toBe(200);
  });

  it('turns on with the first key, without a restart, once the cache expires', async () => {
    // Given: a server that answered "no keys" once
    start();
    expect((await getState()).statusCode).toBe(200);
    // When
    await createKey('admin');
    clock.advance(1000);
    // Then
    expect((await getState()).statusCode).toBe(401);
  });

  it('stays on after every key is revoked', async () => {
    // Given
    const { id } = await createKey('admin');
    await keys.revoke(id, formatTimestamp(clock.nowMs()));
    start();
    // When
    const response = await postEvent();
    // Then
    expect(response.statusCode).toBe(401);
    expect(await storedIds()).toEqual([]);
  });

  it('is on with isRequired even while no key exists', async () => {
    start({ isRequired: true });
    expect((await getState()).statusCode).toBe(401);
  });

  it('keeps /health and /ready open', async () => {
    start({ isRequired: true });
    await createKey('events:write');
    for (const url of ['/health', '/ready']) {
      expect((await app?.inject({ method: 'GET', url }))?.statusCode).toBe(200);
    }
  });
});

describe('API keys: refusals', () => {
  beforeEach(async () => {
    await createKey('events:write');
    start();
  });

  it('answers a request without a key 401 problem+json with WWW-Authenticate, writing nothing', async () => {
    const response = await postEvent();
    expect(response.statusCode).toBe(401);
    expect(response.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    expect(response.headers['www-authenticate']).toBe('Bearer realm="aevon"');
    expect(response.json()).toMatchObject({
      status: 401,
      code: 'AEV_UNAUTHENTICATED',
      details: { reason: 'no Authorization header' },
    });
    expect(await storedIds()).toEqual([]);
  });

  it.each([
    ['another scheme', 'Basic dXNlcjpwYXNz'],
    ['no token', 'Bearer'],
    ['a token of another form', 'Bearer abc.def.ghi'],
    ['two tokens', `Bearer aev_${'0'.repeat(16)}_${'S'.repeat(43)} x`],
  ])('answers %s 401 AEV_UNAUTHENTICATED, writing nothing', async (_, authorization) => {
    const response = await postEvent({ authorization });
    expect(response.statusCode).toBe(401);
    expect(response.headers['www-authenticate']).toBe(
      'Bearer realm="aevon", error="invalid_token"',
    );
    expect(response.json()).toMatchObject({ code: 'AEV_UNAUTHENTICATED' });
    expect(await storedIds()).toEqual([]);
  });

  it('answers a wrong secret and an unknown id alike: 401, writing nothing', async () => {
    // Given: the right id with another secret, and an id that does not exist
    const { id } = await createKey('events:write');
    const wrong = formatApiKey({ id, secret: 'x'.repeat(43) });
    const unknown = formatApiKey({ id: 'f'.repeat(16), secret: 'x'.repeat(43) });
    for (const key of [wrong, unknown]) {
      // When
      const response = await postEvent(bearer(key));
      // Then
      expect(response.statusCode).toBe(401);
      expect(response.json()).toMatchObject({
        code: 'AEV_UNAUTHENTICATED',
        details: { reason: 'the API key is unknown, revoked or wrong' },
      });
    }
    expect(await storedIds()).toEqual([]);
  });

  it('refuses before the body is read: a malformed or oversized body without a key is 401', async () => {
    const malformed = await app?.inject({
      method: 'POST',
      url: '/v1/events/batch',
      headers: { 'content-type': 'application/json' },
      payload: '{"events": [',
    });
    expect(malformed?.statusCode).toBe(401);
    const oversized = await postEvent({}, { ...seedEvent, data: { pad: 'x'.repeat(2_000_000) } });
    expect(oversized.statusCode).toBe(401);
  });

  it('answers a key without the route scope 403 AEV_FORBIDDEN naming the scope, writing nothing', async () => {
    // Given
    const reader = await createKey('state:read');
    const writer = await createKey('events:write');
    // When
    const write = await postEvent(bearer(reader.key));
    const read = await getState(bearer(writer.key));
    // Then
    expect(write.statusCode).toBe(403);
    expect(write.json()).toMatchObject({
      code: 'AEV_FORBIDDEN',
      details: { keyId: reader.id, scope: 'events:write' },
    });
    expect(write.headers['www-authenticate']).toContain('error="insufficient_scope"');
    expect(read.statusCode).toBe(403);
    expect(read.json()).toMatchObject({ details: { scope: 'state:read' } });
    expect(await storedIds()).toEqual([]);
  });

  it('answers an unknown route 401 without a key and 404 with any valid key', async () => {
    const { key } = await createKey('state:read');
    const url = '/v1/secret-admin-thing';
    expect((await app?.inject({ method: 'GET', url }))?.statusCode).toBe(401);
    expect((await app?.inject({ method: 'GET', url, headers: bearer(key) }))?.statusCode).toBe(404);
  });
});

describe('API keys: access', () => {
  it('lets each scope through its routes, and admin through every route', async () => {
    // Given
    const writer = await createKey('events:write');
    const reader = await createKey('state:read');
    const admin = await createKey('admin');
    start();
    // When / Then
    expect((await postEvent(bearer(writer.key))).statusCode).toBe(202);
    expect((await getState(bearer(reader.key))).statusCode).toBe(200);
    const batch = await app?.inject({
      method: 'POST',
      url: '/v1/events/batch',
      headers: bearer(admin.key),
      payload: { events: [{ ...seedEvent, id: 'evt-002' }] },
    });
    expect(batch?.statusCode).toBe(200);
    const head = await app?.inject({
      method: 'HEAD',
      url: seedStatePath,
      headers: bearer(admin.key),
    });
    expect(head?.statusCode).toBe(200);
    expect((await getState({ authorization: `bearer  ${admin.key}` })).statusCode).toBe(200);
    expect(await storedIds()).toEqual(['evt-001', 'evt-002']);
  });

  it('asks admin to define or delete a named subscription, and state:read to read, stream or ack it', async () => {
    // Given
    const writer = await createKey('events:write');
    const reader = await createKey('state:read');
    const admin = await createKey('admin');
    start();
    await postEvent(bearer(writer.key));
    const [event] = await store.readAllPage({ limit: 1 });
    const request = (
      method: 'GET' | 'PUT' | 'POST' | 'DELETE',
      url: string,
      key: string,
      payload?: object,
    ) =>
      app?.inject({
        method,
        url,
        headers: bearer(key),
        ...(payload === undefined ? {} : { payload }),
      }) ?? Promise.reject(new Error('no app'));
    const named = '/v1/subscriptions/projector';
    // When / Then: a read key cannot define one, admin can
    const refused = await request('PUT', named, reader.key, { from: 'start' });
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({ details: { scope: 'admin' } });
    expect((await request('PUT', named, admin.key, { from: 'start' })).statusCode).toBe(201);
    // When / Then: a read key reads, lists and acknowledges; a write key does none of it
    expect((await request('GET', named, reader.key)).statusCode).toBe(200);
    expect((await request('GET', '/v1/named-subscriptions', reader.key)).statusCode).toBe(200);
    const ack = { position: event?.position };
    expect((await request('POST', `${named}/ack`, reader.key, ack)).statusCode).toBe(200);
    expect((await request('POST', `${named}/ack`, writer.key, ack)).statusCode).toBe(403);
    expect((await request('GET', `${named}/events`, writer.key)).statusCode).toBe(403);
    expect((await request('GET', named, writer.key)).statusCode).toBe(403);
    // When / Then: only admin deletes
    expect((await request('DELETE', named, reader.key)).statusCode).toBe(403);
    expect((await request('DELETE', named, admin.key)).statusCode).toBe(204);
  });

  it('refuses a revoked key once the cache entry expires, and at once with cacheTtlMs 0', async () => {
    // Given: a key that worked and is cached
    const cached = await createKey('state:read');
    start({ cacheTtlMs: 1000 });
    expect((await getState(bearer(cached.key))).statusCode).toBe(200);
    // When
    await keys.revoke(cached.id, formatTimestamp(clock.nowMs()));
    // Then: reused for at most the TTL, refused after it
    clock.advance(999);
    expect((await getState(bearer(cached.key))).statusCode).toBe(200);
    clock.advance(1);
    expect((await getState(bearer(cached.key))).statusCode).toBe(401);

    // And with no cache, the next request is refused
    await app?.close();
    const uncached = await createKey('state:read');
    start({ cacheTtlMs: 0 });
    expect((await getState(bearer(uncached.key))).statusCode).toBe(200);
    await keys.revoke(uncached.id, formatTimestamp(clock.nowMs()));
    expect((await getState(bearer(uncached.key))).statusCode).toBe(401);
  });
});

describe('API keys: logs', () => {
  it('never writes a key to the log, at trace level, even when a log call includes the header', async () => {
    // Given: a server logging everything into memory
    const lines: string[] = [];
    const valid = await createKey('events:write');
    const revoked = await createKey('events:write');
    await keys.revoke(revoked.id, formatTimestamp(clock.nowMs()));
    const server = start(
      {},
      { logger: { level: 'trace', stream: { write: (line) => lines.push(line) } } },
    );
    const wrong = formatApiKey({ id: valid.id, secret: 'W'.repeat(43) });
    // When: requests with a valid, a wrong and a revoked key, and a log call that includes the header
    expect((await postEvent(bearer(valid.key))).statusCode).toBe(202);
    expect((await postEvent(bearer(wrong))).statusCode).toBe(401);
    expect((await postEvent(bearer(revoked.key))).statusCode).toBe(401);
    server.log.info({ req: { headers: bearer(valid.key) }, headers: bearer(wrong) }, 'headers');
    // Then: the log has the requests and the failures, and no secret
    const log = lines.join('');
    expect(log).toContain('incoming request');
    expect(log).toContain('authentication failed');
    expect(log).toContain('[redacted]');
    for (const key of [valid.key, wrong, revoked.key]) {
      expect(log).not.toContain(key.slice(-43));
    }
  });
});
