// Goal: WebSocket subscriptions over a real socket: history then live in order, filters, resume from a position, a
// client that stops reading costs the server a bounded buffer and a bounded number of events pulled from the log,
// closing the server closes the socket, and bad requests are refused with a problem+json answer before any upgrade.
// Method: the metering engine on a SQLite file (its store wrapped only to count the events subscriptions read), a
// listening Fastify server, and the `ws` client.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApiKeyScope, EventStore } from '@aevon/core';
import {
  createEventStore,
  createManualClock,
  createSeededRandom,
  formatApiKey,
  formatTimestamp,
} from '@aevon/core';
import type { MeteringEngine } from '@aevon/engine';
import { createMeteringEngine } from '@aevon/engine';
import {
  createSqliteApiKeyStore,
  createSqliteMeteringStore,
  createSqliteStorage,
} from '@aevon/sqlite';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createServer } from './create-server.js';
import { hashApiKeySecret } from './http/api-key-auth.js';

interface Running {
  readonly app: FastifyInstance;
  readonly engine: MeteringEngine;
  readonly url: string;
  readonly wsUrl: string;
  /** Events the subscriptions have read from the log so far. */
  pulled(): number;
  /** Creates an API key with `scopes` (authentication is on once one exists) and returns it as sent. */
  createKey(...scopes: ApiKeyScope[]): Promise<string>;
}

let dir: string;
let running: Running | null = null;
let eventCounter = 0;
const bufferedBytesMax = 64 * 1024;

async function start(): Promise<Running> {
  const clock = createManualClock(Date.parse('2026-02-12T00:00:00Z'));
  const storage = createSqliteStorage({ path: join(dir, 'aevon.db') });
  const store = createEventStore({
    storage,
    clock,
    random: createSeededRandom(1),
    scheduleGroupCommit: (begin) => setImmediate(begin),
    // Small pages, so that the bound on events held in memory is visible next to the sockets' buffers.
    limits: { readPageEventsMax: 100 },
  });
  let pulled = 0;
  const counted: EventStore = {
    ...store,
    readAllPage: async (range) => {
      const page = await store.readAllPage(range);
      pulled += page.length;
      return page;
    },
  };
  const engine = createMeteringEngine({
    store: counted,
    metering: createSqliteMeteringStore(storage),
    clock,
    rules: [{ name: 'count_api_requests', sourceEvent: 'api.request', operator: 'count' }],
    schemas: new Map(),
    cronIntervalMs: 60_000,
    subscriptionPollMs: 20,
  });
  const keys = createSqliteApiKeyStore(storage);
  const app = createServer({
    engine,
    webSocketBufferedBytesMax: bufferedBytesMax,
    apiKeys: { store: keys, clock },
  });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  let keyCount = 0;
  const createKey = async (...scopes: ApiKeyScope[]): Promise<string> => {
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
    return formatApiKey({ id, secret });
  };
  const wsUrl = url.replace(/^http/, 'ws');
  running = { app, engine, url, wsUrl, pulled: () => pulled, createKey };
  return running;
}

async function stopServer(server: Running): Promise<void> {
  await server.app.close();
  await server.engine.close();
  if (running === server) running = null;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'aevon-ws-'));
});
afterEach(async () => {
  if (running !== null) await stopServer(running);
  rmSync(dir, { recursive: true, force: true });
});

async function ingest(
  engine: MeteringEngine,
  principal: string,
  count: number,
  data: Record<string, unknown> = {},
): Promise<string[]> {
  const bodies = Array.from({ length: count }, (_, i) => {
    eventCounter += 1;
    return {
      id: `evt-${eventCounter}`,
      principal_id: principal,
      type: i % 2 === 0 ? 'api.request' : 'api.other',
      schema_version: 0,
      occurred_at: '2026-02-11T10:30:00Z',
      data,
    };
  });
  const results = await engine.ingestBatch(bodies);
  expect(results.every((result) => result.status === 'accepted')).toBe(true);
  return bodies.map((body) => body.id);
}

interface Message {
  readonly type: string;
  readonly id: string | null;
  readonly data: Record<string, unknown>;
}

/** A connected client that records every message and how the socket closed. */
interface Client {
  readonly socket: WebSocket;
  readonly messages: Message[];
  /** Resolves with the close code. */
  readonly closed: Promise<number>;
  /** Resolves once `until` holds for the messages received so far. */
  waitFor(until: (messages: readonly Message[]) => boolean): Promise<void>;
}

async function connect(url: string, headers: Record<string, string> = {}): Promise<Client> {
  const socket = new WebSocket(url, { headers });
  const messages: Message[] = [];
  const waiters: Array<() => void> = [];
  socket.on('message', (data: Buffer, isBinary: boolean) => {
    expect(isBinary).toBe(false);
    messages.push(JSON.parse(data.toString('utf8')) as Message);
    for (const wake of waiters.splice(0)) wake();
  });
  const closed = new Promise<number>((resolve) => socket.once('close', resolve));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  const waitFor = async (until: (all: readonly Message[]) => boolean): Promise<void> => {
    while (!until(messages)) {
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
  return { socket, messages, closed, waitFor };
}

const eventIds = (messages: readonly Message[]) =>
  messages.filter((m) => m.type === 'event').map((m) => m.data['id']);
const isLive = (messages: readonly Message[]) => messages.some((m) => m.type === 'live');

/** The HTTP answer to an upgrade request the server refuses. */
function refusal(url: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; body: Record<string, unknown>; type: string }>(
    (resolve, reject) => {
      const socket = new WebSocket(url, { headers });
      socket.once('open', () => reject(new Error('the upgrade was accepted')));
      socket.once('error', () => undefined);
      socket.once('unexpected-response', (request, response) => {
        let text = '';
        response.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        response.on('end', () => {
          // Handling 'unexpected-response' makes the client responsible for its socket.
          request.destroy();
          resolve({
            status: response.statusCode ?? 0,
            body: JSON.parse(text) as Record<string, unknown>,
            type: String(response.headers['content-type']),
          });
        });
      });
    },
  );
}

describe('GET /v1/subscriptions/ws (WebSocket)', () => {
  it('sends the history, a live marker, then new events, each as a JSON text frame', async () => {
    // Given four events already in the log
    const server = await start();
    const before = await ingest(server.engine, 'alice', 4);
    // When a client subscribes from the start, and three more events are appended once it is live
    const client = await connect(`${server.wsUrl}/v1/subscriptions/ws?from=start`);
    await client.waitFor(isLive);
    const after = await ingest(server.engine, 'bob', 3);
    await client.waitFor((all) => eventIds(all).length === 7);
    // Then it gets all of them in order, the live marker at the switch, and the SSE bodies
    expect(eventIds(client.messages)).toEqual([...before, ...after]);
    expect(client.messages.findIndex((m) => m.type === 'live')).toBe(4);
    const first = client.messages[0];
    expect(first?.id).toBe(first?.data['position']);
    expect(first?.data).toMatchObject({
      stream: 'principals/alice',
      revision: '0',
      type: 'api.request',
      occurred_at: '2026-02-11T10:30:00Z',
      data: {},
    });
    expect(client.messages[4]).toEqual({
      type: 'live',
      id: client.messages[3]?.id,
      data: { position: client.messages[3]?.id },
    });
    client.socket.close();
  });

  it('filters by principal, stream pattern and type, with checkpoints for what it skipped', async () => {
    const server = await start();
    await ingest(server.engine, 'alice', 4);
    const bob = await ingest(server.engine, 'bob', 4);
    await ingest(server.engine, 'carol', 2);
    const byPrincipal = await connect(
      `${server.wsUrl}/v1/subscriptions/ws?from=start&principal=bob&type=api.request`,
    );
    await byPrincipal.waitFor(isLive);
    expect(eventIds(byPrincipal.messages)).toEqual([bob[0], bob[2]]);
    const checkpoint = byPrincipal.messages.at(-2);
    expect(checkpoint?.type).toBe('checkpoint');
    expect(checkpoint?.id).toBe(byPrincipal.messages.at(-1)?.data['position']);
    const byPattern = await connect(
      `${server.wsUrl}/subscriptions/ws?from=start&stream=/principals/*&stream=other/**`,
    );
    await byPattern.waitFor(isLive);
    expect(eventIds(byPattern.messages)).toHaveLength(10);
    byPrincipal.socket.close();
    byPattern.socket.close();
  });

  it('resumes after a position with no loss and no duplicate', async () => {
    const server = await start();
    const written = await ingest(server.engine, 'alice', 6);
    const first = await connect(`${server.wsUrl}/v1/subscriptions/ws?from=start`);
    await first.waitFor((all) => eventIds(all).length >= 3);
    first.socket.close();
    const kept = first.messages.filter((m) => m.type === 'event').slice(0, 3);
    written.push(...(await ingest(server.engine, 'alice', 2)));
    const resumed = await connect(
      `${server.wsUrl}/v1/subscriptions/ws?from=${kept.at(-1)?.id ?? ''}`,
    );
    await resumed.waitFor(isLive);
    expect([...eventIds(kept), ...eventIds(resumed.messages)]).toEqual(written);
    resumed.socket.close();
  });

  it('stops reading the log while a client does not read, and delivers everything once it does', async () => {
    // Goal: a consumer that stops reading never makes the server buffer without bound. Method: 1,500 events of
    // 16 KiB (24 MiB, several times what the kernel's socket buffers of both ends hold before the client ever
    // reads) are appended while the client's socket is paused; the events the subscription has read from the log
    // must stay well below that, and the server's send buffer near its bound. Then the client reads again and must
    // get every event, in order.
    const server = await start();
    const client = await connect(`${server.wsUrl}/v1/subscriptions/ws?from=start`);
    await client.waitFor(isLive);
    client.socket.pause();
    const payload = { blob: 'x'.repeat(16 * 1024) };
    const written: string[] = [];
    for (let i = 0; i < 3; i += 1)
      written.push(...(await ingest(server.engine, 'slow', 500, payload)));
    // Let the subscription run as far as it can (the poll interval is 20 ms).
    await new Promise((resolve) => setTimeout(resolve, 500));
    const pulledWhilePaused = server.pulled();
    expect(pulledWhilePaused).toBeLessThan(written.length / 2);
    const [serverSocket] = server.app.websocketServer.clients;
    expect(serverSocket?.bufferedAmount).toBeLessThanOrEqual(bufferedBytesMax + 8 * 1024);
    client.socket.resume();
    await client.waitFor((all) => eventIds(all).length === written.length);
    expect(eventIds(client.messages)).toEqual(written);
    client.socket.close();
  });

  it('closes every socket when the server closes', async () => {
    const server = await start();
    const client = await connect(`${server.wsUrl}/v1/subscriptions/ws?from=end`);
    await client.waitFor(isLive);
    await stopServer(server);
    expect(await client.closed).toBe(1001);
  });

  it.each([
    ['from=yesterday', 'from'],
    ['stream=/a/b**', 'stream'],
    ['stream=', 'stream'],
  ])('refuses %s with a 400 problem before the upgrade', async (query, field) => {
    const server = await start();
    const answer = await refusal(`${server.wsUrl}/v1/subscriptions/ws?${query}`);
    expect(answer.status).toBe(400);
    expect(answer.type).toBe('application/problem+json; charset=utf-8');
    expect(answer.body).toMatchObject({ code: 'AEV_REQUEST_INVALID', details: { field } });
  });

  it('needs a key with the state:read scope when API keys are on, checked before the upgrade', async () => {
    const server = await start();
    const writer = await server.createKey('events:write');
    const reader = await server.createKey('state:read');
    const url = `${server.wsUrl}/v1/subscriptions/ws?from=start`;
    expect(await refusal(url)).toMatchObject({
      status: 401,
      body: { code: 'AEV_UNAUTHENTICATED' },
    });
    const forbidden = await refusal(url, { authorization: `Bearer ${writer}` });
    expect(forbidden).toMatchObject({ status: 403, body: { code: 'AEV_FORBIDDEN' } });
    const client = await connect(url, { authorization: `Bearer ${reader}` });
    await client.waitFor(isLive);
    client.socket.close();
  });

  it('answers a plain GET without an upgrade with a 400 problem', async () => {
    const server = await start();
    const response = await fetch(`${server.url}/v1/subscriptions/ws?from=start`);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      code: 'AEV_REQUEST_INVALID',
      details: { field: 'upgrade' },
    });
  });
});
