import type { ExpectedRevision, JsonValue } from '@aevon/core';
import { describe, expect, it } from 'vitest';
import { collect, events, everything, rejection, withStore } from './helpers.js';
import type { StorageFactory } from './storage-factory.js';

/** Optimistic concurrency, idempotency, multi-stream atomicity and group-commit isolation. */
export function describeAppendContract(factory: StorageFactory): void {
  describe('append: optimistic concurrency', () => {
    const onNewStream: [ExpectedRevision, boolean][] = [
      ['any', true],
      ['no_stream', true],
      ['stream_exists', false],
      [0n, false],
    ];
    it.each(onNewStream)(
      'on a new stream, expected %s succeeds: %s',
      async (expected, succeeds) => {
        await withStore(factory, async ({ store }) => {
          // Given a stream that does not exist / When appending with the expectation
          const attempt = store.append('orders/1', events('e', 2), { expected });
          // Then it succeeds from revision 0, or fails naming no actual revision
          if (succeeds) {
            const result = await attempt;
            expect(result.streams).toEqual([
              { stream: 'orders/1', firstRevision: 0n, lastRevision: 1n },
            ]);
          } else {
            const error = await rejection(attempt, 'AEV_STREAM_VERSION_MISMATCH');
            expect(error.details).toEqual({
              stream: 'orders/1',
              expected: String(expected),
              actual: null,
            });
            expect(await store.streamExists('orders/1')).toBe(false);
          }
        });
      },
    );

    const onExistingStream: [ExpectedRevision, boolean][] = [
      ['any', true],
      ['no_stream', false],
      ['stream_exists', true],
      [2n, true],
      [1n, false],
      [3n, false],
    ];
    it.each(onExistingStream)(
      'on a stream at revision 2, expected %s succeeds: %s',
      async (expected, succeeds) => {
        await withStore(factory, async ({ store }) => {
          await store.append('orders/1', events('a', 3));
          const attempt = store.append('orders/1', events('b', 1), { expected });
          if (succeeds) {
            expect((await attempt).streams[0]).toEqual({
              stream: 'orders/1',
              firstRevision: 3n,
              lastRevision: 3n,
            });
          } else {
            const error = await rejection(attempt, 'AEV_STREAM_VERSION_MISMATCH');
            expect(error.details.actual).toBe('2');
            expect((await collect(store.read('orders/1'))).map((e) => e.id)).toEqual([
              'a-0',
              'a-1',
              'a-2',
            ]);
          }
        });
      },
    );

    it('lets exactly one of several appends with the same exact expectation win', async () => {
      await withStore(factory, async ({ store }) => {
        await store.append('acct/1', events('seed', 1));
        const attempts = Array.from({ length: 8 }, (_, i) =>
          store.append('acct/1', events(`w${i}`, 1), { expected: 0n }).then(
            () => 'ok',
            (error: unknown) => (error as { code?: string }).code,
          ),
        );
        const outcomes = await Promise.all(attempts);
        expect(outcomes.filter((o) => o === 'ok')).toHaveLength(1);
        expect(outcomes.filter((o) => o === 'AEV_STREAM_VERSION_MISMATCH')).toHaveLength(7);
        expect((await store.readLatest('acct/1'))?.revision).toBe(1n);
      });
    });

    it('gives concurrent appends with expected any contiguous revisions', async () => {
      await withStore(factory, async ({ store }) => {
        await Promise.all(
          Array.from({ length: 20 }, (_, i) => store.append('hot', events(`c${i}`, 2))),
        );
        const stored = await collect(store.read('hot'));
        expect(stored.map((e) => e.revision)).toEqual(
          Array.from({ length: 40 }, (_, i) => BigInt(i)),
        );
        expect(new Set(stored.map((e) => e.id)).size).toBe(40);
      });
    });
  });

  describe('append: idempotency', () => {
    it('rejects a stored id, names the stored event and writes nothing of the batch', async () => {
      await withStore(factory, async ({ store }) => {
        const first = await store.append('s/1', [{ id: 'evt-001', type: 't', data: {} }]);
        const stored = first.events[0];
        // When a batch repeats the id next to a new one, on another stream
        const error = await rejection(
          store.append('s/2', [
            { id: 'evt-002', type: 't', data: {} },
            { id: 'evt-001', type: 't', data: {} },
          ]),
          'AEV_EVENT_ID_DUPLICATE',
        );
        // Then the error names where the id lives and the new event was not written
        expect(error.details).toEqual({
          id: 'evt-001',
          stream: 's/1',
          revision: '0',
          position: stored?.position,
        });
        expect(await store.streamExists('s/2')).toBe(false);
        expect(await everything(store)).toHaveLength(1);
      });
    });

    it('rejects an id repeated inside one append before storage sees it', async () => {
      await withStore(factory, async ({ store }) => {
        const error = await rejection(
          store.append('s/1', [
            { id: 'x', type: 't', data: {} },
            { id: 'x', type: 't', data: {} },
          ]),
          'AEV_REQUEST_INVALID',
        );
        expect(error.details.field).toBe('id');
        expect(await everything(store)).toHaveLength(0);
      });
    });

    it('answers a retried append with the duplicate error, so a client can treat it as committed', async () => {
      await withStore(factory, async ({ store }) => {
        const batch = events('retry', 3);
        await store.append('s/1', batch);
        const error = await rejection(store.append('s/1', batch), 'AEV_EVENT_ID_DUPLICATE');
        expect(error.details.id).toBe('retry-0');
        expect(await everything(store)).toHaveLength(3);
      });
    });
  });

  describe('append: multi-stream atomicity and group commit', () => {
    it('writes every stream of appendMany, each with its own expectation', async () => {
      await withStore(factory, async ({ store }) => {
        await store.append('a', events('a', 1));
        const result = await store.appendMany([
          { stream: 'a', events: events('a2', 2), expected: 0n },
          { stream: 'b', events: events('b', 1), expected: 'no_stream' },
        ]);
        expect(result.streams).toEqual([
          { stream: 'a', firstRevision: 1n, lastRevision: 2n },
          { stream: 'b', firstRevision: 0n, lastRevision: 0n },
        ]);
        expect(result.events.map((e) => e.id)).toEqual(['a2-0', 'a2-1', 'b-0']);
        expect(result.lastPosition).toBe(result.events[2]?.position);
      });
    });

    it('writes nothing of appendMany when one stream expectation fails', async () => {
      await withStore(factory, async ({ store }) => {
        await store.append('a', events('a', 1));
        await rejection(
          store.appendMany([
            { stream: 'b', events: events('b', 1), expected: 'no_stream' },
            { stream: 'a', events: events('a2', 1), expected: 'no_stream' },
          ]),
          'AEV_STREAM_VERSION_MISMATCH',
        );
        expect(await store.streamExists('b')).toBe(false);
        expect((await everything(store)).map((e) => e.id)).toEqual(['a-0']);
      });
    });

    it('rejects a stream named twice in one appendMany', async () => {
      await withStore(factory, async ({ store }) => {
        await rejection(
          store.appendMany([
            { stream: 'a', events: events('x', 1) },
            { stream: 'a', events: events('y', 1) },
          ]),
          'AEV_REQUEST_INVALID',
        );
      });
    });

    it('stores the data as validated at the call, not as the caller changed it while queued', async () => {
      await withStore(factory, async ({ store }) => {
        const data: Record<string, JsonValue> = { tokens: 1 };
        const appended = store.append('s', [{ type: 'A', data }]);
        data['tokens'] = 2;
        data['nested'] = { deeper: true };
        const result = await appended;
        const [read] = await store.readStreamPage('s');
        expect(read?.data).toEqual({ tokens: 1 });
        expect(Object.keys(result.events[0] ?? {})).not.toContain('dataJson');
        expect(Object.keys(read ?? {})).not.toContain('dataJson');
      });
    });

    it('refuses streams under the reserved $aevon/ prefix and writes nothing', async () => {
      await withStore(factory, async ({ store }) => {
        await rejection(store.append('$aevon/definitions', events('r', 1)), 'AEV_REQUEST_INVALID');
        await rejection(
          store.appendMany([
            { stream: 'fine', events: events('s', 1) },
            { stream: '$aevon/other', events: events('t', 1) },
          ]),
          'AEV_REQUEST_INVALID',
        );
        expect(await store.headPosition()).toBeNull();
      });
    });

    it('does not fail a batch because a neighbour in the same group commit failed', async () => {
      await withStore(factory, async ({ store }) => {
        await store.append('taken', [{ id: 'dup', type: 't', data: {} }]);
        // Issued together, so group commit coalesces them into one transaction.
        const outcomes = await Promise.allSettled([
          store.append('ok/1', events('ok1', 2)),
          store.append('taken', events('late', 1), { expected: 'no_stream' }),
          store.append('ok/2', [{ id: 'dup', type: 't', data: {} }]),
          store.append('ok/3', events('ok3', 1), { expected: 'no_stream' }),
        ]);
        expect(outcomes.map((o) => o.status)).toEqual([
          'fulfilled',
          'rejected',
          'rejected',
          'fulfilled',
        ]);
        const ids = (await everything(store)).map((e) => e.id);
        expect(ids).toEqual(['dup', 'ok1-0', 'ok1-1', 'ok3-0']);
      });
    });

    it('assigns strictly increasing positions in commit order', async () => {
      await withStore(factory, async ({ store }) => {
        const results = [];
        for (let i = 0; i < 5; i += 1)
          results.push(await store.append(`s/${i % 2}`, events(`p${i}`, 3)));
        const positions = results.flatMap((r) => r.events.map((e) => e.position));
        expect([...positions].sort()).toEqual(positions);
        expect(new Set(positions).size).toBe(positions.length);
        expect((await everything(store)).map((e) => e.position)).toEqual(positions);
        expect(await store.headPosition()).toBe(positions[positions.length - 1]);
      });
    });
  });
}
