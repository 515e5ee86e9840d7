import { describe, expect, it } from 'vitest';
import { collect, events, everything, rejection, withStore } from './helpers.js';
import type { StorageFactory } from './storage-factory.js';

/** Every field round-trips exactly; unicode and large payloads; limits raise coded errors and write nothing. */
export function describePayloadContract(factory: StorageFactory): void {
  describe('payloads', () => {
    it('round-trips every field of an event', async () => {
      await withStore(factory, async ({ store }) => {
        const pending = {
          id: 'evt-full',
          type: 'api.request',
          data: {
            nested: { list: [1, 2.5, 'three', null, true], empty: {} },
            big: 9007199254740991,
            neg: -0.125,
          },
          metadata: { source: 'test', 'trace-id': 'abc' },
          schemaVersion: 3,
          occurredAt: '2026-02-11T10:30:00Z',
          correlationId: 'corr-1',
          causationId: 'cause-1',
        };
        await store.append('principals/user_123', [pending]);
        const [stored] = await collect(store.read('principals/user_123'));
        expect(stored).toMatchObject({ ...pending, stream: 'principals/user_123', revision: 0n });
        expect(stored?.recordedAt).toBe('2026-02-11T10:30:00.000Z');
      });
    });

    it('fills defaults for id, occurredAt, schemaVersion and metadata', async () => {
      await withStore(factory, async ({ store }) => {
        const result = await store.append('d', [{ type: 't', data: {} }]);
        const [stored] = await collect(store.read('d'));
        expect(stored?.id).toMatch(
          /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
        );
        expect(stored?.id).toBe(result.events[0]?.id);
        expect(stored).toMatchObject({
          schemaVersion: 0,
          metadata: {},
          correlationId: null,
          causationId: null,
        });
        expect(stored?.occurredAt).toBe(stored?.recordedAt);
      });
    });

    it('keeps unicode in stream ids, types, ids and data', async () => {
      await withStore(factory, async ({ store }) => {
        const stream = '/kunden/Müller-ß/日本語/🚀';
        const data = {
          text: 'Grüße, мир, עולם, 世界 👩‍👩‍👧 \u2028 "quotes" \\ back',
          emoji: '🎉'.repeat(100),
        };
        await store.append(stream, [{ id: 'ид-😀', type: 'événement.créé', data }]);
        const [stored] = await collect(store.read(stream));
        expect(stored).toMatchObject({ id: 'ид-😀', type: 'événement.créé', data, stream });
        expect((await store.readLatest(stream))?.id).toBe('ид-😀');
      });
    });

    it('stores a payload just under the size limit and rejects one just over it', async () => {
      await withStore(
        factory,
        async ({ store }) => {
          const fits = { blob: 'x'.repeat(256 * 1024 - 12) };
          await store.append('big', [{ id: 'fits', type: 't', data: fits }]);
          expect((await store.readLatest('big'))?.data).toEqual(fits);
          const error = await rejection(
            store.append('big', [
              { id: 'over', type: 't', data: { blob: 'x'.repeat(256 * 1024) } },
            ]),
            'AEV_EVENT_DATA_TOO_LARGE',
          );
          expect(error.details).toMatchObject({ id: 'over', max: 256 * 1024 });
          expect(await everything(store)).toHaveLength(1);
        },
        { eventDataBytesMax: 256 * 1024 },
      );
    });
  });

  describe('limits and invalid input', () => {
    it('rejects an append over the event count limit and writes nothing', async () => {
      await withStore(
        factory,
        async ({ store }) => {
          const error = await rejection(
            store.append('s', events('e', 11)),
            'AEV_APPEND_BATCH_TOO_LARGE',
          );
          expect(error.details).toEqual({ count: 11, max: 10 });
          expect(await store.streamExists('s')).toBe(false);
        },
        { appendEventsMax: 10 },
      );
    });

    const badInputs: [string, () => { stream: string; event: Record<string, unknown> }][] = [
      ['an empty stream id', () => ({ stream: '', event: { type: 't', data: {} } })],
      [
        'a stream id with a control character',
        () => ({ stream: 'a\u0007b', event: { type: 't', data: {} } }),
      ],
      [
        'a stream id over the length limit',
        () => ({ stream: 's'.repeat(513), event: { type: 't', data: {} } }),
      ],
      ['an empty type', () => ({ stream: 's', event: { type: '', data: {} } })],
      ['data that is an array', () => ({ stream: 's', event: { type: 't', data: [1] } })],
      ['data that is null', () => ({ stream: 's', event: { type: 't', data: null } })],
      [
        'data with a NUL character',
        () => ({ stream: 's', event: { type: 't', data: { a: 'x\u0000y' } } }),
      ],
      [
        'data with a lone surrogate',
        () => ({ stream: 's', event: { type: 't', data: { a: '\ud800' } } }),
      ],
      [
        'metadata with a number',
        () => ({ stream: 's', event: { type: 't', data: {}, metadata: { a: 1 } } }),
      ],
      [
        'an occurredAt without a zone',
        () => ({ stream: 's', event: { type: 't', data: {}, occurredAt: '2026-02-11T10:30:00' } }),
      ],
      [
        'an occurredAt on February 30th',
        () => ({ stream: 's', event: { type: 't', data: {}, occurredAt: '2026-02-30T10:30:00Z' } }),
      ],
      [
        'a negative schemaVersion',
        () => ({ stream: 's', event: { type: 't', data: {}, schemaVersion: -1 } }),
      ],
      [
        'an id over the length limit',
        () => ({ stream: 's', event: { id: 'i'.repeat(257), type: 't', data: {} } }),
      ],
    ];
    it.each(badInputs)(
      'rejects %s with AEV_REQUEST_INVALID and writes nothing',
      async (_name, make) => {
        await withStore(factory, async ({ store }) => {
          const { stream, event } = make();
          const ok = { id: 'ok', type: 't', data: {} };
          // @ts-expect-error -- the input is deliberately wrong, as a JavaScript or JSON caller could send it
          await rejection(store.append(stream, [ok, event]), 'AEV_REQUEST_INVALID');
          expect(await everything(store)).toHaveLength(0);
        });
      },
    );

    it('rejects an invalid expected revision', async () => {
      await withStore(factory, async ({ store }) => {
        // @ts-expect-error -- a number is not a revision; JavaScript callers can still pass one
        await rejection(store.append('s', events('e', 1), { expected: 3 }), 'AEV_REQUEST_INVALID');
        await rejection(
          store.append('s', events('e', 1), { expected: -1n }),
          'AEV_REQUEST_INVALID',
        );
        await rejection(store.append('s', []), 'AEV_REQUEST_INVALID');
      });
    });
  });

  describe('lifecycle', () => {
    it('finishes appends in flight when closed, then refuses new work', async () => {
      await withStore(factory, async ({ store }) => {
        const inFlight = Array.from({ length: 10 }, (_, i) =>
          store.append(`c/${i}`, events(`c${i}`, 1)),
        );
        await store.close();
        const results = await Promise.all(inFlight);
        expect(results).toHaveLength(10);
        await rejection(store.append('c/x', events('x', 1)), 'AEV_STORAGE_UNAVAILABLE');
        await rejection(store.readAllPage(), 'AEV_STORAGE_UNAVAILABLE');
      });
    });
  });
}
