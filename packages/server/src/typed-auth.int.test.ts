// Goal: API key scopes on the typed routes: a typed write needs events:write, and row reads, SQL (read-only), the
// definitions and the change feed need state:read; a key without the scope is 403 before anything is read or written,
// no key is 401, and admin may do everything. Method: the real SQLite stores and engines with authentication required,
// keys created in the database's key store, Fastify's inject.
import type { ApiKeyScope } from '@aevon/core';
import { formatApiKey, formatTimestamp } from '@aevon/core';
import type { InjectOptions } from 'fastify';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fixedSeedMigration, seedPost1 } from '../../../test/support/eventd-seed.js';
import type { TypedServer } from '../../../test/support/typed-server.js';
import { sqliteTarget } from '../../../test/support/typed-server.js';
import { hashApiKeySecret } from './http/api-key-auth.js';

const target = sqliteTarget();
afterAll(async () => {
  await target.dispose();
});

const sqlRequest: InjectOptions = {
  method: 'POST',
  url: '/v1/sql',
  payload: { sql: 'SELECT count(*) AS n FROM account' },
};
const rowRequest: InjectOptions = { method: 'GET', url: '/v1/aggregates/account/1' };
const definitionsRequest: InjectOptions = { method: 'GET', url: '/v1/definitions' };
const feedRequest: InjectOptions = { method: 'GET', url: '/v1/aggregates/nope/changes' };
const reads: readonly (readonly [string, InjectOptions])[] = [
  ['GET /v1/aggregates/account/1', rowRequest],
  ['GET /aggregates/account/1', { method: 'GET', url: '/aggregates/account/1' }],
  ['POST /v1/sql', sqlRequest],
  ['POST /sql', { ...sqlRequest, url: '/sql' }],
  ['GET /v1/definitions', definitionsRequest],
  ['GET /v1/aggregates/nope/changes', feedRequest],
];

describe('API key scopes on the typed routes', () => {
  let server: TypedServer;
  let count = 0;
  beforeEach(async () => {
    server = await target.open({ isAuthRequired: true });
    await server.definitions.applyDdl(fixedSeedMigration);
  });
  afterEach(async () => {
    await server.close();
  });

  const keyWith = async (...scopes: ApiKeyScope[]): Promise<Record<string, string>> => {
    count += 1;
    const id = count.toString(16).padStart(16, '0');
    const secret = `${count}`.padEnd(43, 'S');
    await server.apiKeys.create({
      id,
      name: `typed ${count}`,
      scopes,
      secretHash: hashApiKeySecret(secret),
      createdAt: formatTimestamp(server.clock.nowMs()),
      revokedAt: null,
    });
    return { authorization: `Bearer ${formatApiKey({ id, secret })}` };
  };
  const send = (request: InjectOptions, headers: Record<string, string>) =>
    server.app.inject({
      ...request,
      headers: { ...(request.headers as Record<string, string>), ...headers },
    });
  const eventCount = async () => (await server.store.readAllPage({ limit: 100 })).length;

  it('lets a write key write, and refuses it every read', async () => {
    const writer = await keyWith('events:write');
    expect((await send(seedPost1, writer)).statusCode).toBe(201);
    for (const [name, request] of reads) {
      const response = await send(request, writer);
      expect(response.statusCode, name).toBe(403);
      expect(response.json(), name).toMatchObject({
        code: 'AEV_FORBIDDEN',
        details: { scope: 'state:read' },
      });
    }
  });

  it('lets a read key read, and refuses it a write without writing', async () => {
    const admin = await keyWith('admin');
    expect((await send(seedPost1, admin)).statusCode).toBe(201);
    const reader = await keyWith('state:read');
    const before = await eventCount();
    for (const url of ['/streams/account_events', '/v1/streams/account_events/1']) {
      const response = await send({ ...seedPost1, url }, reader);
      expect(response.statusCode, url).toBe(403);
      expect(response.json(), url).toMatchObject({ details: { scope: 'events:write' } });
    }
    expect(await eventCount()).toBe(before);
    expect((await send(rowRequest, reader)).json()).toMatchObject({ id: 1 });
    expect((await send(sqlRequest, reader)).json()).toMatchObject({ rows: [{ n: 1 }] });
    expect((await send(definitionsRequest, reader)).statusCode).toBe(200);
    // The feed checks its scope before it looks for the aggregate: the read key gets the feed's own 404.
    expect((await send(feedRequest, reader)).statusCode).toBe(404);
  });

  it('answers 401 without a key, before the body is read', async () => {
    const before = await eventCount();
    for (const [name, request] of [
      ['POST /streams/account_events', seedPost1] as const,
      ...reads,
    ]) {
      const response = await send(request, {});
      expect(response.statusCode, name).toBe(401);
      expect(response.json(), name).toMatchObject({ code: 'AEV_UNAUTHENTICATED' });
    }
    expect(await eventCount()).toBe(before);
  });
});
