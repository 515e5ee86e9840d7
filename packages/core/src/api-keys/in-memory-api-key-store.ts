import { assert } from '../internal/assert.js';
import type { ApiKeyRecord } from './api-key.js';
import { apiKeyListMax, assertApiKeyRecord } from './api-key.js';
import type { ApiKeyStore } from './api-key-store.js';

/** An {@link ApiKeyStore} held in memory, for unit tests and the in-memory engine. */
export function createInMemoryApiKeyStore(): ApiKeyStore {
  const keys = new Map<string, ApiKeyRecord>();
  return {
    create: async (record) => {
      assertApiKeyRecord(record);
      assert(record.revokedAt === null, 'a new API key is not revoked');
      assert(!keys.has(record.id), 'an API key id is new');
      keys.set(record.id, { ...record, scopes: [...record.scopes] });
    },
    find: async (id) => keys.get(id) ?? null,
    list: async () =>
      [...keys.values()]
        .sort((a, b) => compareText(a.createdAt, b.createdAt) || compareText(a.id, b.id))
        .slice(0, apiKeyListMax),
    revoke: async (id, revokedAt) => {
      const key = keys.get(id);
      if (key === undefined) return null;
      if (key.revokedAt !== null) return key;
      const revoked = { ...key, revokedAt };
      assertApiKeyRecord(revoked);
      keys.set(id, revoked);
      return revoked;
    },
    hasAnyKey: async () => keys.size > 0,
    close: async () => undefined,
  };
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
