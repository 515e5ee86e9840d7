import type { GlobalPosition, NamedSubscriptionPut, NamedSubscriptionStore } from '@aevon/core';
import { AssertionError, asGlobalPosition } from '@aevon/core';
import { describe, expect, it } from 'vitest';
import { withFixture } from './helpers.js';

/**
 * A fresh, empty named subscription store for one test. `openAnother` opens a second store on the same database, as
 * another node would; `dispose` closes both and removes what the test left.
 */
export interface NamedSubscriptionStoreFixture {
  readonly store: NamedSubscriptionStore;
  openAnother(): Promise<NamedSubscriptionStore>;
  dispose(): Promise<void>;
}

/** Creates a fresh, empty named subscription store per test. */
export type NamedSubscriptionStoreFactory = () => Promise<NamedSubscriptionStoreFixture>;

/** A position in the fixed-width text form of the SQLite and in-memory logs. */
const at = (n: number): GlobalPosition => asGlobalPosition(n.toString().padStart(20, '0'));
const t0 = '2026-02-11T10:30:00.000Z';
const t1 = '2026-02-11T10:31:00.000Z';
const t2 = '2026-02-11T10:32:00.000Z';

function putInput(
  name: string,
  overrides: Partial<NamedSubscriptionPut> = {},
): NamedSubscriptionPut {
  return {
    name,
    filter: { streams: ['/principals/*'], types: ['api.request'], principals: [] },
    position: null,
    resetPosition: false,
    at: t0,
    ...overrides,
  };
}

/**
 * The behaviour every {@link NamedSubscriptionStore} must show, as one vitest suite: round trips, create versus
 * update (keeping or resetting the checkpoint), a checkpoint that only moves forward through `advance`, listing
 * order, deletion, rejected records writing nothing, and visibility from a second store on the same database.
 */
export function describeNamedSubscriptionStoreContract(
  name: string,
  factory: NamedSubscriptionStoreFactory,
): void {
  describe(`named subscription store contract: ${name}`, () => {
    it('starts empty: nothing to find, list, advance or delete', async () => {
      await withFixture(factory, async ({ store }) => {
        expect(await store.find('projector')).toBeNull();
        expect(await store.list()).toEqual([]);
        expect(await store.advance('projector', at(1), t1)).toBeNull();
        expect(await store.delete('projector')).toBe(false);
      });
    });

    it('creates a subscription and returns it field for field, unicode filter values included', async () => {
      await withFixture(factory, async ({ store }) => {
        // Given
        const filter = {
          streams: ['/accounts/**', '/é/*'],
          types: ['a', 'b ✓'],
          principals: ['p"1'],
        };
        // When
        const put = await store.put(putInput('billing.projector_1', { filter, position: at(7) }));
        // Then
        const expected = {
          name: 'billing.projector_1',
          filter,
          position: at(7),
          createdAt: t0,
          updatedAt: t0,
        };
        expect(put).toEqual({ record: expected, isCreated: true });
        expect(await store.find('billing.projector_1')).toEqual(expected);
        expect(await store.list()).toEqual([expected]);
      });
    });

    it('updates the filter of an existing subscription and keeps its checkpoint unless asked to reset', async () => {
      await withFixture(factory, async ({ store }) => {
        // Given
        await store.put(putInput('p', { position: at(5) }));
        const filter = { streams: [], types: ['other'], principals: ['bob'] };
        // When
        const kept = await store.put(putInput('p', { filter, position: at(9), at: t1 }));
        // Then
        expect(kept.isCreated).toBe(false);
        expect(kept.record).toEqual({
          name: 'p',
          filter,
          position: at(5),
          createdAt: t0,
          updatedAt: t1,
        });
        // When: a reset moves the checkpoint anywhere, even back to the start
        const reset = await store.put(
          putInput('p', { position: null, resetPosition: true, at: t2 }),
        );
        // Then
        expect(reset.record.position).toBeNull();
        expect(reset.record.createdAt).toBe(t0);
        expect(await store.find('p')).toEqual(reset.record);
      });
    });

    it('advances the checkpoint forward only: an older or equal position changes nothing', async () => {
      await withFixture(factory, async ({ store }) => {
        // Given
        await store.put(putInput('p'));
        // When
        const first = await store.advance('p', at(10), t1);
        const older = await store.advance('p', at(9), t2);
        const same = await store.advance('p', at(10), t2);
        const later = await store.advance('p', at(11), t2);
        // Then
        expect(first).toMatchObject({ position: at(10), updatedAt: t1 });
        expect(older).toEqual(first);
        expect(same).toEqual(first);
        expect(later).toMatchObject({ position: at(11), updatedAt: t2 });
        expect(await store.find('p')).toEqual(later);
      });
    });

    it('compares positions in log order, not by their numeric prefix alone', async () => {
      await withFixture(factory, async ({ store }) => {
        // PostgreSQL positions are "<transaction>-<sequence>", both fixed width: text order is log order.
        const pg = (tx: number, seq: number) =>
          asGlobalPosition(
            `${tx.toString().padStart(20, '0')}-${seq.toString().padStart(20, '0')}`,
          );
        await store.put(putInput('p', { position: pg(5, 900) }));
        expect((await store.advance('p', pg(5, 1000), t1))?.position).toBe(pg(5, 1000));
        expect((await store.advance('p', pg(4, 9999), t1))?.position).toBe(pg(5, 1000));
        expect((await store.advance('p', pg(10, 1), t1))?.position).toBe(pg(10, 1));
      });
    });

    it('lists by name in code-point order', async () => {
      await withFixture(factory, async ({ store }) => {
        for (const n of ['b', 'B', 'a-2', 'a.1', 'a_1']) await store.put(putInput(n));
        expect((await store.list()).map((r) => r.name)).toEqual(['B', 'a-2', 'a.1', 'a_1', 'b']);
      });
    });

    it('deletes a subscription, after which the name can be created anew', async () => {
      await withFixture(factory, async ({ store }) => {
        await store.put(putInput('p', { position: at(3) }));
        await store.put(putInput('q'));
        expect(await store.delete('p')).toBe(true);
        expect(await store.find('p')).toBeNull();
        expect((await store.list()).map((r) => r.name)).toEqual(['q']);
        const again = await store.put(putInput('p', { at: t2 }));
        expect(again).toMatchObject({ isCreated: true, record: { position: null, createdAt: t2 } });
      });
    });

    it.each<[string, Partial<NamedSubscriptionPut>]>([
      ['a name with a slash', { name: 'a/b' }],
      ['an empty name', { name: '' }],
      ['an empty filter value', { filter: { streams: [''], types: [], principals: [] } }],
      [
        'too many filter values',
        {
          filter: {
            streams: [],
            types: Array.from({ length: 33 }, (_, i) => `t${i}`),
            principals: [],
          },
        },
      ],
    ])('rejects %s as a programmer error, writing nothing', async (_, bad) => {
      await withFixture(factory, async ({ store }) => {
        await expect(store.put(putInput('p', bad))).rejects.toBeInstanceOf(AssertionError);
        expect(await store.list()).toEqual([]);
      });
    });

    it('shows subscriptions and checkpoints written through one store to another on the same database', async () => {
      await withFixture(factory, async (fixture) => {
        const { store } = fixture;
        // Given: a second node on the same database
        const other = await fixture.openAnother();
        // When
        await store.put(putInput('p'));
        await other.advance('p', at(4), t1);
        // Then
        expect((await store.find('p'))?.position).toBe(at(4));
        expect(await other.delete('p')).toBe(true);
        expect(await store.find('p')).toBeNull();
      });
    });
  });
}
