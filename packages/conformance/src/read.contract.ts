import type { Direction, GlobalPosition, Range, RecordedEvent } from '@aevon/core';
import { defaultLimits, normalizeRange, selectRange } from '@aevon/core';
import { describe, expect, it } from 'vitest';
import { collect, events, everything, rejection, withStore } from './helpers.js';
import type { StorageFactory } from './storage-factory.js';

interface RangeCase {
  start: number | null;
  startExclusive: boolean;
  end: number | null;
  endExclusive: boolean;
  limit: number | undefined;
  direction: Direction;
}

/** Every combination of bounds, exclusivity, limit and direction over a log of `size` events. */
function rangeCases(size: number): RangeCase[] {
  const bounds = [null, 0, 2, size - 1];
  const cases: RangeCase[] = [];
  for (const start of bounds)
    for (const end of [null, 0, 3, size - 1])
      for (const startExclusive of [false, true])
        for (const endExclusive of [false, true])
          for (const limit of [undefined, 1, 2, size + 1])
            for (const direction of ['forward', 'backward'] as const) {
              if ((start === null && startExclusive) || (end === null && endExclusive)) continue;
              cases.push({ start, startExclusive, end, endExclusive, limit, direction });
            }
  return cases;
}

function toRange<P>(c: RangeCase, keyAt: (index: number) => P) {
  return {
    ...(c.start === null ? {} : { start: keyAt(c.start), startExclusive: c.startExclusive }),
    ...(c.end === null ? {} : { end: keyAt(c.end), endExclusive: c.endExclusive }),
    ...(c.limit === undefined ? {} : { limit: c.limit }),
    direction: c.direction,
  };
}

/** Stream and global reads over every range form, paging, and the stream metadata reads. */
export function describeReadContract(factory: StorageFactory): void {
  describe('read ranges', () => {
    const size = 6;
    it('reads a stream by revision range exactly as the reference selection, for every combination', async () => {
      await withStore(factory, async ({ store }) => {
        // Given a stream interleaved with another, so stream and global order differ
        for (let i = 0; i < size; i += 1) {
          await store.append('target', events(`t${i}`, 1));
          await store.append('other', events(`o${i}`, 1));
        }
        const all = await collect(store.read('target'));
        for (const c of rangeCases(size)) {
          const input = toRange(c, (i) => BigInt(i));
          const expected = selectRange(
            all,
            (e) => e.revision,
            normalizeRange(input, defaultLimits),
          );
          const page = await store.readStreamPage('target', input);
          expect(
            page.map((e) => e.id),
            JSON.stringify(c),
          ).toEqual(expected.map((e) => e.id));
          const iterated = await collect(store.read('target', input));
          expect(
            iterated.map((e) => e.id),
            JSON.stringify(c),
          ).toEqual(expected.map((e) => e.id));
        }
      });
    });

    it('reads the whole log by position range exactly as the reference selection, for every combination', async () => {
      await withStore(factory, async ({ store }) => {
        for (let i = 0; i < size; i += 1) await store.append(`s/${i % 3}`, events(`g${i}`, 1));
        const all = await everything(store);
        expect(all.map((e) => e.id)).toEqual(Array.from({ length: size }, (_, i) => `g${i}-0`));
        const positionAt = (i: number): GlobalPosition => (all[i] as RecordedEvent).position;
        for (const c of rangeCases(size)) {
          const input = toRange(c, positionAt);
          const range: Range<GlobalPosition> = normalizeRange(input, defaultLimits);
          const expected = selectRange(all, (e) => e.position, range);
          const page = await store.readAllPage(input);
          expect(
            page.map((e) => e.id),
            JSON.stringify(c),
          ).toEqual(expected.map((e) => e.id));
        }
      });
    });

    it('pages through long reads with a small page size, in both directions', async () => {
      await withStore(
        factory,
        async ({ store }) => {
          await store.append('long', events('l', 23));
          const forward = await collect(store.read('long'));
          expect(forward.map((e) => e.revision)).toEqual(
            Array.from({ length: 23 }, (_, i) => BigInt(i)),
          );
          const backward = await collect(store.readAll({ direction: 'backward' }));
          expect(backward.map((e) => e.id)).toEqual(forward.map((e) => e.id).reverse());
          const capped = await collect(store.read('long', { start: 3n, limit: 12 }));
          expect(capped.map((e) => e.revision)).toEqual(
            Array.from({ length: 12 }, (_, i) => BigInt(i + 3)),
          );
          await rejection(store.readStreamPage('long', { limit: 6 }), 'AEV_READ_LIMIT_TOO_LARGE');
        },
        { readPageEventsMax: 5 },
      );
    });

    it('reads nothing from a stream that does not exist', async () => {
      await withStore(factory, async ({ store }) => {
        expect(await store.readStreamPage('nope')).toEqual([]);
        expect(await store.readLatest('nope')).toBeUndefined();
        expect(await store.streamInfo('nope')).toBeNull();
        expect(await store.headPosition()).toBeNull();
        expect(await store.readAllPage()).toEqual([]);
      });
    });
  });

  describe('stream metadata', () => {
    it('reports the latest event, the revision to expect next, and stream info', async () => {
      await withStore(factory, async ({ store }) => {
        const first = await store.append('acct/7', events('m', 2));
        const second = await store.append('acct/7', events('n', 1));
        const latest = await store.readLatest('acct/7');
        expect(latest?.id).toBe('n-0');
        expect(latest?.revision).toBe(2n);
        const forAppend = await store.readForAppend('acct/7');
        expect(forAppend.expected).toBe(2n);
        expect((await collect(forAppend.events)).map((e) => e.id)).toEqual(['m-0', 'm-1', 'n-0']);
        // The revision it gives is accepted as the next expectation
        await store.append('acct/7', events('o', 1), { expected: forAppend.expected });
        const info = await store.streamInfo('acct/7');
        expect(info).toMatchObject({
          stream: 'acct/7',
          revision: 3n,
          firstPosition: first.events[0]?.position,
        });
        expect((info?.lastPosition ?? '') > second.lastPosition).toBe(true);
        expect(await store.streamExists('acct/7')).toBe(true);
        const none = await store.readForAppend('fresh');
        expect(none.expected).toBe('no_stream');
        expect(await collect(none.events)).toEqual([]);
        await store.append('fresh', events('f', 1), { expected: none.expected });
      });
    });
  });
}
