/**
 * Every operating-error code Aevon can raise. Codes are API: never renamed, re-purposed or reused
 * (docs/errors.md lists them and a test keeps both in step).
 */
export const errorCodes = [
  'AEV_REQUEST_INVALID',
  'AEV_STREAM_NOT_FOUND',
  'AEV_STREAM_VERSION_MISMATCH',
  'AEV_EVENT_ID_DUPLICATE',
  'AEV_APPEND_BATCH_TOO_LARGE',
  'AEV_EVENT_DATA_TOO_LARGE',
  'AEV_READ_LIMIT_TOO_LARGE',
  'AEV_SCHEMA_VALIDATION_FAILED',
  'AEV_RULE_UNKNOWN',
  'AEV_CONFIG_INVALID',
  'AEV_OVERLOADED',
  'AEV_STORAGE_UNAVAILABLE',
  'AEV_STORAGE_SCHEMA_MISMATCH',
  'AEV_NOT_FOUND',
  'AEV_INTERNAL',
  'AEV_UNAUTHENTICATED',
  'AEV_FORBIDDEN',
  'AEV_DDL_INVALID',
  'AEV_EVENT_DATA_INVALID',
  'AEV_AGGREGATE_CONFLICT',
  'AEV_DEFINITIONS_CHANGED',
  'AEV_MIGRATION_INVALID',
  'AEV_SQL_INVALID',
  'AEV_SQL_TIMEOUT',
] as const;

/** A stable string code carried by every {@link AevonError}. */
export type ErrorCode = (typeof errorCodes)[number];

/**
 * Typed details per code. Details are JSON-safe (revisions and positions are decimal/opaque strings), so that they
 * travel unchanged in problem+json bodies and CLI output.
 */
export interface ErrorDetailsByCode {
  /** Input that breaks a rule of the API; `field` names the offending input where there is one. */
  AEV_REQUEST_INVALID: { reason: string; field?: string };
  /**
   * Data definition language text (or a definition built in TypeScript) that does not parse or does not check.
   * `line` and `column` (1-based) point at the offending token when the definition came from text.
   */
  AEV_DDL_INVALID: { reason: string; line?: number; column?: number };
  AEV_STREAM_NOT_FOUND: { stream: string };
  /** `actual` is the stream's last revision, or null when the stream does not exist. */
  AEV_STREAM_VERSION_MISMATCH: { stream: string; expected: string; actual: string | null };
  /** The stored event that already holds `id`. */
  AEV_EVENT_ID_DUPLICATE: { id: string; stream: string; revision: string; position: string };
  AEV_APPEND_BATCH_TOO_LARGE: { count: number; max: number };
  AEV_EVENT_DATA_TOO_LARGE: { id: string; bytes: number; max: number };
  AEV_READ_LIMIT_TOO_LARGE: { limit: number; max: number };
  AEV_SCHEMA_VALIDATION_FAILED: { type: string; schemaVersion: number; errors: readonly string[] };
  AEV_RULE_UNKNOWN: { rule: string };
  AEV_CONFIG_INVALID: { reason: string; source?: string };
  /** Too much work is queued; retry after `retryAfterMs`. */
  AEV_OVERLOADED: { queued: number; max: number; retryAfterMs: number };
  AEV_STORAGE_UNAVAILABLE: { reason: string };
  AEV_STORAGE_SCHEMA_MISMATCH: { expected: number; actual: number };
  AEV_NOT_FOUND: { resource: string };
  /** An unexpected failure. Its real message goes to the log only. */
  AEV_INTERNAL: { requestId?: string };
  /**
   * The request carries no usable API key: none, a malformed `Authorization` header, or a key that is unknown,
   * revoked or wrong. `reason` says which, and never repeats the key.
   */
  AEV_UNAUTHENTICATED: { reason: string };
  /** The API key `keyId` is valid but lacks `scope`, the scope the request needs. */
  AEV_FORBIDDEN: { keyId: string; scope: string };
  /**
   * A typed event (one written through a stream definition) that does not fit its event type or stream: `field` names
   * the offending field (`$type` for the event type itself, `$path` for the key in the path), `reason` says why.
   */
  AEV_EVENT_DATA_INVALID: { stream: string; eventType: string; field: string; reason: string };
  /**
   * A typed event that would break an aggregate constraint given the rows stored now: `exists` (creates a key that is
   * taken), `references` (names a row that does not exist), `unique`, `not_null`. Nothing was written.
   */
  AEV_AGGREGATE_CONFLICT: {
    aggregate: string;
    column: string;
    constraint: 'exists' | 'references' | 'unique' | 'not_null';
    reason: string;
  };
  /** The definitions changed since the caller read them (`expected`), at version `actual`. Reload and retry. */
  AEV_DEFINITIONS_CHANGED: { expected: number; actual: number };
  /** A migration file or folder that cannot be applied: a bad name, an edited applied file, a missing upcaster. */
  AEV_MIGRATION_INVALID: { reason: string; file?: string };
  /** A `POST /sql` query that is not a single read-only query over aggregate tables, or that fails to run. */
  AEV_SQL_INVALID: { reason: string };
  /** A `POST /sql` query ran longer than its timeout and was stopped. */
  AEV_SQL_TIMEOUT: { timeoutMs: number };
}
