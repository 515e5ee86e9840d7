import { assert } from '../internal/assert.js';

/**
 * The scopes an API key can hold. `events:write` allows the write routes (`POST /v1/events`, `/v1/ingest`,
 * `/v1/events/batch`), `state:read` the read routes (`GET`/`HEAD /v1/state`, `/v1/aggregates`), and `admin` implies
 * every scope, present and future.
 */
export const apiKeyScopes = ['events:write', 'state:read', 'admin'] as const;

/** One of {@link apiKeyScopes}. */
export type ApiKeyScope = (typeof apiKeyScopes)[number];

/** The prefix of every API key, so that a leaked key is recognisable (secret scanners, logs, reviews). */
export const apiKeyPrefix = 'aev_';

/** Characters of an API key id: 16 lower-case hex digits (64 random bits; public, used to look the key up). */
export const apiKeyIdPattern = /^[0-9a-f]{16}$/;

/** Characters of an API key secret: 43 base64url characters, i.e. 32 random bytes (256 bits). */
export const apiKeySecretPattern = /^[A-Za-z0-9_-]{43}$/;

/** A stored secret hash: the lower-case hex SHA-256 of the secret (64 digits). */
export const apiKeySecretHashPattern = /^[0-9a-f]{64}$/;

/** Longest key name, in characters. */
export const apiKeyNameLengthMax = 100;

/** Most keys one listing returns (keys are few; the bound keeps every read bounded, STYLE 2.7). */
export const apiKeyListMax = 10_000;

/**
 * An API key as stored: never the secret itself, only {@link ApiKeyRecord.secretHash}. Keys are never deleted;
 * revoking sets {@link ApiKeyRecord.revokedAt}, so "a key was ever created" stays true once it is.
 */
export interface ApiKeyRecord {
  /** The public id (see {@link apiKeyIdPattern}); part of the key and safe to show and log. */
  readonly id: string;
  /** A label for people (may be empty). */
  readonly name: string;
  /** Non-empty, without duplicates, in {@link apiKeyScopes} order. */
  readonly scopes: readonly ApiKeyScope[];
  /** The SHA-256 of the secret, lower-case hex. */
  readonly secretHash: string;
  /** When the key was created: RFC 3339 UTC with milliseconds (`2026-02-11T10:30:00.000Z`). */
  readonly createdAt: string;
  /** When the key was revoked (same format), or null while it is valid. */
  readonly revokedAt: string | null;
}

/** The two parts of an API key `aev_<id>_<secret>`. */
export interface ApiKeyParts {
  readonly id: string;
  readonly secret: string;
}

/** Renders an API key from its parts: `aev_<id>_<secret>`. */
export function formatApiKey(parts: ApiKeyParts): string {
  assert(apiKeyIdPattern.test(parts.id), 'an API key id is 16 hex digits');
  assert(apiKeySecretPattern.test(parts.secret), 'an API key secret is 43 base64url characters');
  return `${apiKeyPrefix}${parts.id}_${parts.secret}`;
}

/**
 * Splits an API key into id and secret, or returns null when it is not of the form `aev_<id>_<secret>`. The id
 * holds no `_`, so the first `_` after it ends it even though the secret may contain `_`.
 */
export function parseApiKey(key: string): ApiKeyParts | null {
  if (!key.startsWith(apiKeyPrefix)) return null;
  const rest = key.slice(apiKeyPrefix.length);
  const separator = rest.indexOf('_');
  if (separator < 0) return null;
  const id = rest.slice(0, separator);
  const secret = rest.slice(separator + 1);
  if (!apiKeyIdPattern.test(id) || !apiKeySecretPattern.test(secret)) return null;
  return { id, secret };
}

/** True when `name` is one of {@link apiKeyScopes}. */
export function isApiKeyScope(name: string): name is ApiKeyScope {
  return (apiKeyScopes as readonly string[]).includes(name);
}

/** True when keys holding `held` may do what needs `required`: they hold it, or they hold `admin`. */
export function scopesAllow(held: readonly ApiKeyScope[], required: ApiKeyScope): boolean {
  return held.includes(required) || held.includes('admin');
}

/** The scopes without duplicates, in {@link apiKeyScopes} order: the stored form. */
export function normalizeScopes(scopes: readonly ApiKeyScope[]): readonly ApiKeyScope[] {
  return apiKeyScopes.filter((scope) => scopes.includes(scope));
}

/**
 * Why `name` cannot name a key, or null when it can: at most {@link apiKeyNameLengthMax} characters, no control
 * characters (a name is printed in a terminal table by `aevon keys list`).
 */
export function checkApiKeyName(name: string): string | null {
  if (name.length > apiKeyNameLengthMax) return `must be at most ${apiKeyNameLengthMax} characters`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'must not contain control characters';
  return null;
}

/** Asserts a record about to be stored is well formed; stores call it before writing and after reading. */
export function assertApiKeyRecord(record: ApiKeyRecord): void {
  assert(apiKeyIdPattern.test(record.id), 'an API key id is 16 hex digits');
  assert(checkApiKeyName(record.name) === null, 'an API key name is short and printable');
  assert(record.scopes.length > 0, 'an API key holds at least one scope');
  assert(
    normalizeScopes(record.scopes).join(' ') === record.scopes.join(' '),
    'API key scopes are known, unique and in order',
  );
  assert(apiKeySecretHashPattern.test(record.secretHash), 'a secret hash is 64 hex digits');
  assert(timestampPattern.test(record.createdAt), 'createdAt is RFC 3339 UTC with milliseconds');
  if (record.revokedAt !== null)
    assert(timestampPattern.test(record.revokedAt), 'revokedAt is RFC 3339 UTC with milliseconds');
}

const timestampPattern = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
