// Goal: the change feed delivers every change of an aggregate once, in log order, whatever the page size, marks each
// event's last change as the place to resume after, and reports a checkpoint when its key filter skipped changes.
// (The DDL lets an event change at most one row per aggregate, so a feed's page never ends inside an event; the feed
// still guards against it.) Method: the real SQLite and PostgreSQL stores and subscribeToChanges with pages of 1 to 5
// changes over events that create and update rows.
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AppendWaiter } from '@aevon/core';
import type { TypedServer, TypedTarget } from '../../../test/support/typed-server.js';
import { postgresTarget, sqliteTarget } from '../../../test/support/typed-server.js';
import type { AggregateChangeMessage } from './aggregate-changes.js';
import { subscribeToChanges } from './aggregate-changes.js';

const nodes = `
CREATE AGGREGATE node (id integer PRIMARY KEY, label text);
CREATE EVENT_TYPE node_created (id creates node(id), label updates node(label));
CREATE EVENT_TYPE node_labelled (id references node(id), label updates node(label));
CREATE STREAM nodes (path '/nodes/{id}', event_types (node_created, node_labelled));
`;

const targets: readonly TypedTarget[] = [sqliteTarget(), postgresTarget('change_pages')];
afterAll(async () => {
  for (const target of targets) await target.dispose();
});

/** A waiter that never waits: the feed is read to its live marker and then stopped. */
const noWait: AppendWaiter = { sequence: () => 0, waitBeyond: async () => undefined };

describe.each(targets)('change feed pages on $name', (target) => {
  let server: TypedServer;
  beforeEach(async () => {
    server = await target.open();
    await server.definitions.applyDdl(nodes);
    const write = (eventType: string, id: number, label: string) =>
      server.definitions.write({ stream: 'nodes', eventType, body: { id, label }, pathValues: [] });
    await write('node_created', 1, 'a');
    await write('node_created', 2, 'b');
    await write('node_labelled', 1, 'a2');
    await write('node_created', 3, 'c');
    await write('node_labelled', 2, 'b2');
  });
  afterEach(async () => {
    await server.close();
  });

  const readToLive = async (pageChanges: number, keys: ReadonlySet<string> | null) => {
    const controller = new AbortController();
    const messages: AggregateChangeMessage[] = [];
    for await (const message of subscribeToChanges({
      store: server.definitions.store,
      log: server.store,
      aggregate: 'node',
      keys,
      from: 'start',
      waiter: noWait,
      signal: controller.signal,
      pageChanges,
    })) {
      messages.push(message);
      if (message.kind === 'live') controller.abort();
    }
    return messages;
  };

  it.each([1, 2, 3, 5])(
    'delivers every change once, in log order, with pages of %i',
    async (size) => {
      const messages = await readToLive(size, null);
      const changes = messages.flatMap((m) => (m.kind === 'change' ? [m] : []));
      expect(
        changes.map((m) => [m.change.key, m.change.operation, m.change.after['label']]),
      ).toEqual([
        [1, 'insert', 'a'],
        [2, 'insert', 'b'],
        [1, 'update', 'a2'],
        [3, 'insert', 'c'],
        [2, 'update', 'b2'],
      ]);
      expect(changes.every((m) => m.isEventEnd)).toBe(true);
      const positions = changes.map((m) => m.change.position);
      expect([...positions].sort()).toEqual(positions);
      expect(new Set(positions).size).toBe(positions.length);
      expect(changes[2]?.change.before).toMatchObject({ id: 1, label: 'a' });
      expect(messages.at(-1)).toEqual({ kind: 'live', position: positions.at(-1) });
    },
  );

  it('filters by key and reports where it stands with a checkpoint', async () => {
    const messages = await readToLive(100, new Set(['2']));
    expect(messages.map((m) => m.kind)).toEqual(['change', 'change', 'live']);
    expect(messages[1]).toMatchObject({
      kind: 'change',
      change: { key: 2, after: { label: 'b2' } },
    });
    // Changes after the last match are skipped, and said so before the live marker.
    const skipping = await readToLive(100, new Set(['1']));
    expect(skipping.map((m) => m.kind)).toEqual(['change', 'change', 'checkpoint', 'live']);
    const checkpoint = skipping[2];
    const last = (await server.definitions.store.readChanges({ after: null, limit: 100 })).at(-1);
    expect(checkpoint).toEqual({ kind: 'checkpoint', position: last?.position });
  });
});
