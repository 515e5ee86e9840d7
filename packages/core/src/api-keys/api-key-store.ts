import type { ApiKeyRecord } from './api-key.js';

/**
 * Where API keys live: next to the event log (memory, SQLite, PostgreSQL), so that `aevon keys` run against the
 * server's `database.dsn` manages the keys every node sees. Keys are never deleted, only revoked. The store holds
 * hashes, never secrets; checking a presented secret against the hash is the HTTP layer's job.
 */
export interface ApiKeyStore {
  /**
   * Stores a new key (with `revokedAt: null`).
   * @throws AssertionError for a malformed record or an id already stored (ids are 64 random bits: a clash is a
   *   bug, not an operating error); AEV_STORAGE_UNAVAILABLE.
   */
  create(record: ApiKeyRecord): Promise<void>;
  /** The key with this id, revoked or not, or null when there is none. */
  find(id: string): Promise<ApiKeyRecord | null>;
  /** The keys, revoked ones included, oldest first (ties by id), at most {@link apiKeyListMax}. */
  list(): Promise<readonly ApiKeyRecord[]>;
  /**
   * Revokes a key as of `revokedAt` (RFC 3339 UTC with milliseconds). Revoking a revoked key keeps
   * its first `revokedAt`.
   * @returns the key after the call, or null when no key has this id (nothing changed).
   */
  revoke(id: string, revokedAt: string): Promise<ApiKeyRecord | null>;
  /** True once any key has been created, even if every key is revoked since. */
  hasAnyKey(): Promise<boolean>;
  /** Releases what the store holds of its own (never the shared storage). */
  close(): Promise<void>;
}
