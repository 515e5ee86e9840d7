import type { ApiKeyRecord, ApiKeyStore } from '@aevon/core';
import { AssertionError } from '@aevon/core';
import { describe, expect, it } from 'vitest';
import { withFixture } from './helpers.js';

/**
 * A fresh, empty API key store for one test. `openAnother` opens a second store on the same database, as another
 * node (or `aevon keys` next to a server) would; `dispose` closes both and removes what the test left.
 */
export interface ApiKeyStoreFixture {
  readonly store: ApiKeyStore;
  openAnother(): Promise<ApiKeyStore>;
  dispose(): Promise<void>;
}

/** Creates a fresh, empty API key store per test. */
export type ApiKeyStoreFactory = () => Promise<ApiKeyStoreFixture>;

const hashOf = (digit: string): string => digit.repeat(64);

/** A well-formed new key with id `<n as 16 hex digits>`. */
function keyRecord(n: number, overrides: Partial<ApiKeyRecord> = {}): ApiKeyRecord {
  return {
    id: n.toString(16).padStart(16, '0'),
    name: `key ${n}`,
    scopes: ['events:write'],
    secretHash: hashOf((n % 10).toString()),
    createdAt: '2026-02-11T10:30:00.000Z',
    revokedAt: null,
    ...overrides,
  };
}

/**
 * The behaviour every {@link ApiKeyStore} must show, as one vitest suite: round trips, listing order, revocation
 * (idempotent, never deleting), "a key was ever created", rejected records writing nothing, and visibility from a
 * second store on the same database.
 */
export function describeApiKeyStoreContract(name: string, factory: ApiKeyStoreFactory): void {
  describe(`API key store contract: ${name}`, () => {
    it('starts empty: no key, an empty list, nothing to revoke', async () => {
      await withFixture(factory, async ({ store }) => {
        expect(await store.hasAnyKey()).toBe(false);
        expect(await store.list()).toEqual([]);
        expect(await store.find('0000000000000001')).toBeNull();
        expect(await store.revoke('0000000000000001', '2026-02-11T11:00:00.000Z')).toBeNull();
        expect(await store.hasAnyKey()).toBe(false);
      });
    });

    it('returns a created key field for field, unicode name and every scope included', async () => {
      await withFixture(factory, async ({ store }) => {
        // Given
        const key = keyRecord(1, {
          name: 'déploiement ✓ "ci"',
          scopes: ['events:write', 'state:read', 'admin'],
          createdAt: '2026-02-11T10:30:00.123Z',
        });
        // When
        await store.create(key);
        // Then
        expect(await store.find(key.id)).toEqual(key);
        expect(await store.list()).toEqual([key]);
        expect(await store.hasAnyKey()).toBe(true);
        expect(await store.find(keyRecord(2).id)).toBeNull();
      });
    });

    it('lists oldest first, ties by id', async () => {
      await withFixture(factory, async ({ store }) => {
        const late = keyRecord(1, { createdAt: '2026-02-11T10:31:00.000Z' });
        const earlyB = keyRecord(3, { createdAt: '2026-02-11T10:30:00.000Z' });
        const earlyA = keyRecord(2, { createdAt: '2026-02-11T10:30:00.000Z', scopes: ['admin'] });
        for (const key of [late, earlyB, earlyA]) await store.create(key);
        expect((await store.list()).map((key) => key.id)).toEqual([earlyA.id, earlyB.id, late.id]);
      });
    });

    it('revokes once: a second revoke keeps the first time, and the key stays listed', async () => {
      await withFixture(factory, async ({ store }) => {
        // Given
        const key = keyRecord(1);
        await store.create(key);
        // When
        const first = await store.revoke(key.id, '2026-02-11T11:00:00.000Z');
        const second = await store.revoke(key.id, '2026-02-11T12:00:00.000Z');
        // Then
        const revoked = { ...key, revokedAt: '2026-02-11T11:00:00.000Z' };
        expect(first).toEqual(revoked);
        expect(second).toEqual(revoked);
        expect(await store.find(key.id)).toEqual(revoked);
        expect(await store.list()).toEqual([revoked]);
      });
    });

    it('still reports a key ever created after every key is revoked', async () => {
      await withFixture(factory, async ({ store }) => {
        await store.create(keyRecord(1));
        await store.create(keyRecord(2));
        await store.revoke(keyRecord(1).id, '2026-02-11T11:00:00.000Z');
        await store.revoke(keyRecord(2).id, '2026-02-11T11:00:00.000Z');
        expect(await store.hasAnyKey()).toBe(true);
      });
    });

    it('rejects an id already stored and keeps the first key', async () => {
      await withFixture(factory, async ({ store }) => {
        const key = keyRecord(1);
        await store.create(key);
        await expect(store.create({ ...key, name: 'other' })).rejects.toThrow();
        expect(await store.list()).toEqual([key]);
      });
    });

    it.each<[string, Partial<ApiKeyRecord>]>([
      ['a malformed id', { id: 'not-hex' }],
      ['no scope', { scopes: [] }],
      ['an unknown scope', { scopes: ['root' as 'admin'] }],
      ['a malformed hash', { secretHash: 'abc' }],
      ['a revoked new key', { revokedAt: '2026-02-11T11:00:00.000Z' }],
      ['a control character in the name', { name: 'a\u0000b' }],
    ])('rejects a record with %s as a programmer error, writing nothing', async (_, bad) => {
      await withFixture(factory, async ({ store }) => {
        await expect(store.create(keyRecord(1, bad))).rejects.toBeInstanceOf(AssertionError);
        expect(await store.hasAnyKey()).toBe(false);
      });
    });

    it('shows keys created and revoked through one store to another on the same database', async () => {
      await withFixture(factory, async (fixture) => {
        const { store } = fixture;
        // Given: a second node on the same database
        const other = await fixture.openAnother();
        expect(await other.hasAnyKey()).toBe(false);
        // When
        await store.create(keyRecord(1));
        // Then
        expect(await other.find(keyRecord(1).id)).toEqual(keyRecord(1));
        await other.revoke(keyRecord(1).id, '2026-02-11T11:00:00.000Z');
        expect((await store.find(keyRecord(1).id))?.revokedAt).toBe('2026-02-11T11:00:00.000Z');
      });
    });
  });
}
