// Goal: the aggregate change feed (issue 7) over Server-Sent Events on SQLite and PostgreSQL: history then live with
// no gap and no duplicate, resume with Last-Event-ID, the key filter with its checkpoints, and coded answers for bad
// requests before any stream starts. Method: the real stores and engines on a listening server, fetch reading frames.
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { fixedSeedMigration } from '../../../test/support/eventd-seed.js';
import type { Frame } from '../../../test/support/sse.js';
import { readFrames } from '../../../test/support/sse.js';
import type { TypedServer, TypedTarget } from '../../../test/support/typed-server.js';
import { postgresTarget, sqliteTarget } from '../../../test/support/typed-server.js';

const targets: readonly TypedTarget[] = [sqliteTarget(), postgresTarget('agg_changes')];
afterAll(async () => {
  for (const target of targets) await target.dispose();
});

const changes = (frames: readonly Frame[]) => frames.filter((frame) => frame.event === 'change');

describe.each(targets)('aggregate change feed on $name', (target) => {
  let server: TypedServer;
  let url: string;
  beforeEach(async () => {
    // No poll within a test's time: every live delivery below comes from the write's wake-up.
    server = await target.open({ pollMs: 600_000 });
    await server.definitions.applyDdl(fixedSeedMigration);
    url = await server.app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterEach(async () => {
    await server.close();
  });

  const createAccount = async (name: string): Promise<void> => {
    const response = await fetch(`${url}/v1/streams/account_events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-event-type': 'account_created' },
      body: JSON.stringify({
        name,
        billing_first_name: 'A',
        billing_last_name: 'B',
        send_notification: true,
      }),
    });
    expect(response.status).toBe(201);
  };
  const rename = async (id: number, name: string): Promise<void> => {
    const response = await fetch(`${url}/v1/streams/account_events/${id}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-event-type': 'account_name_updated' },
      body: JSON.stringify({ name }),
    });
    expect(response.status).toBe(201);
  };

  it('delivers the history, then live changes, each with before and after', async () => {
    await createAccount('one');
    await rename(1, 'uno');
    let wroteLive = false;
    const frames = await readFrames(
      `${url}/v1/aggregates/account/changes?from=start`,
      (seen) => changes(seen).length >= 3,
      {},
      async (frame) => {
        if (frame.event === 'live' && !wroteLive) {
          wroteLive = true;
          await createAccount('two');
        }
      },
    );
    const bodies = changes(frames).map((frame) => frame.data);
    expect(bodies.map((body) => [body['key'], body['operation']])).toEqual([
      [1, 'insert'],
      [1, 'update'],
      [2, 'insert'],
    ]);
    expect(bodies[0]).toMatchObject({
      aggregate: 'account',
      before: null,
      after: { id: 1, name: 'one' },
      event_id: expect.any(String),
      position: expect.any(String),
    });
    expect(bodies[1]).toMatchObject({
      before: { id: 1, name: 'one' },
      after: { id: 1, name: 'uno' },
    });
    // The live frame comes after the history and before the live change.
    const kinds = frames.map((frame) => frame.event).filter((kind) => kind !== 'checkpoint');
    expect(kinds).toEqual(['change', 'change', 'live', 'change']);
    // Each change's id is its event's position, to resume after.
    for (const frame of changes(frames)) expect(frame.id).toBe(frame.data['position']);
  });

  it('meets history and live with no gap and no duplicate under concurrent writers', async () => {
    const history = 5;
    const concurrent = 30;
    for (let i = 0; i < history; i += 1) await createAccount(`h${i}`);
    let writes: Promise<void>[] = [];
    const frames = await readFrames(
      `${url}/v1/aggregates/account/changes?from=start`,
      (seen) => changes(seen).length >= history + concurrent,
      {},
      async (frame) => {
        // Writers race the switch from history to live: some start before the live marker is read, some after.
        if (changes([frame]).length === 1 && writes.length === 0) {
          writes = Array.from({ length: concurrent }, (_, i) => createAccount(`c${i}`));
        }
      },
    );
    await Promise.all(writes);
    const delivered = changes(frames).map((frame) => frame.data);
    expect(delivered.map((body) => body['key']).sort((a, b) => Number(a) - Number(b))).toEqual(
      Array.from({ length: history + concurrent }, (_, i) => i + 1),
    );
    const positions = delivered.map((body) => String(body['position']));
    expect(new Set(positions).size).toBe(positions.length);
    expect([...positions].sort()).toEqual(positions);
  });

  it('resumes after Last-Event-ID without loss or duplicate', async () => {
    await createAccount('one');
    await createAccount('two');
    const first = await readFrames(
      `${url}/v1/aggregates/account/changes?from=start`,
      (seen) => changes(seen).length >= 1,
    );
    const resumeAfter = changes(first)[0]?.id;
    expect(resumeAfter).toEqual(expect.any(String));
    await createAccount('three');
    const rest = await readFrames(
      `${url}/v1/aggregates/account/changes`,
      (seen) => changes(seen).length >= 2,
      { 'last-event-id': resumeAfter ?? '' },
    );
    expect(changes(rest).map((frame) => frame.data['key'])).toEqual([2, 3]);
  });

  it('starts at the end by default, and filters by key with checkpoints', async () => {
    await createAccount('one');
    await createAccount('two');
    let wrote = false;
    const frames = await readFrames(
      `${url}/v1/aggregates/account/changes?key=2`,
      (seen) => changes(seen).length >= 1,
      {},
      async (frame) => {
        if (frame.event === 'live' && !wrote) {
          wrote = true;
          await rename(1, 'skipped');
          await rename(2, 'kept');
        }
      },
    );
    expect(changes(frames).map((frame) => frame.data)).toEqual([
      expect.objectContaining({
        key: 2,
        operation: 'update',
        after: { id: 2, name: 'kept', created_at: expect.any(String) },
      }),
    ]);
    const filtered = await readFrames(
      `${url}/v1/aggregates/billing_contact/changes?from=start&key=1`,
      (seen) => seen.some((frame) => frame.event === 'live'),
    );
    expect(changes(filtered).map((frame) => frame.data['key'])).toEqual([1]);
    expect(filtered.some((frame) => frame.event === 'checkpoint')).toBe(true);
  });

  it.each([
    ['/v1/aggregates/nope/changes', 404, 'AEV_NOT_FOUND'],
    ['/v1/aggregates/account/changes?from=yesterday', 400, 'AEV_REQUEST_INVALID'],
    ['/v1/aggregates/account/changes?key=abc', 400, 'AEV_REQUEST_INVALID'],
  ])('answers %s with a problem before streaming', async (path, status, code) => {
    const response = await fetch(`${url}${path}`);
    expect(response.status).toBe(status);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    expect(((await response.json()) as { code: string }).code).toBe(code);
  });

  it('serves the same feed over a WebSocket, and refuses a bad one before the upgrade', async () => {
    await createAccount('one');
    const wsUrl = url.replace(/^http/, 'ws');
    const socket = new WebSocket(`${wsUrl}/v1/aggregates/account/changes/ws?from=start`);
    const received: { type: string; id: string | null; data: Record<string, unknown> }[] = [];
    await new Promise<void>((resolve, reject) => {
      socket.on('error', reject);
      socket.on('message', (data: Buffer) => {
        const frame = JSON.parse(data.toString()) as (typeof received)[number];
        received.push(frame);
        if (frame.type === 'live') void rename(1, 'uno');
        if (received.filter((f) => f.type === 'change').length === 2) resolve();
      });
    });
    socket.close();
    expect(received.map((frame) => frame.type)).toEqual(['change', 'live', 'change']);
    expect(received[2]).toMatchObject({
      data: { key: 1, operation: 'update', after: { name: 'uno' } },
    });
    expect(received[2]?.id).toBe(received[2]?.data['position']);
    const refused = new WebSocket(`${wsUrl}/v1/aggregates/nope/changes/ws`);
    const status = await new Promise<number | undefined>((resolve) => {
      refused.on('unexpected-response', (_, response) => resolve(response.statusCode));
      refused.on('open', () => resolve(undefined));
      refused.on('error', () => undefined);
    });
    refused.terminate();
    expect(status).toBe(404);
  });

  it('wakes event subscriptions on a typed write', async () => {
    let wrote = false;
    const frames = await readFrames(
      `${url}/v1/subscriptions?type=account_created`,
      (seen) => seen.some((frame) => frame.event === 'event'),
      {},
      async (frame) => {
        if (frame.event === 'live' && !wrote) {
          wrote = true;
          await createAccount('live');
        }
      },
    );
    const event = frames.find((frame) => frame.event === 'event');
    expect(event?.data).toMatchObject({ stream: '/accounts/1', type: 'account_created' });
  });
});
