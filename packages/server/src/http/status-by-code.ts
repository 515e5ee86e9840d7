import type { ErrorCode } from '@aevon/core';

/**
 * The HTTP status of every error code: the one table that maps the domain's coded errors to HTTP (STYLE 2.6).
 * `satisfies Record<ErrorCode, number>` makes the compiler reject a new code that has no status here, and
 * `docs/errors.md` is checked against this table by a drift test.
 */
export const httpStatusByCode = {
  AEV_REQUEST_INVALID: 400,
  AEV_DDL_INVALID: 400,
  AEV_EVENT_DATA_INVALID: 400,
  AEV_MIGRATION_INVALID: 400,
  AEV_SQL_INVALID: 400,
  AEV_SCHEMA_VALIDATION_FAILED: 400,
  AEV_RULE_UNKNOWN: 400,
  AEV_READ_LIMIT_TOO_LARGE: 400,
  AEV_UNAUTHENTICATED: 401,
  AEV_FORBIDDEN: 403,
  AEV_NOT_FOUND: 404,
  AEV_STREAM_NOT_FOUND: 404,
  AEV_EVENT_ID_DUPLICATE: 409,
  AEV_STREAM_VERSION_MISMATCH: 409,
  AEV_AGGREGATE_CONFLICT: 409,
  AEV_DEFINITIONS_CHANGED: 409,
  AEV_SQL_TIMEOUT: 422,
  AEV_APPEND_BATCH_TOO_LARGE: 413,
  AEV_EVENT_DATA_TOO_LARGE: 413,
  AEV_OVERLOADED: 429,
  AEV_CONFIG_INVALID: 500,
  AEV_STORAGE_SCHEMA_MISMATCH: 500,
  AEV_INTERNAL: 500,
  AEV_STORAGE_UNAVAILABLE: 503,
} as const satisfies Record<ErrorCode, number>;

/**
 * Statuses that refine {@link httpStatusByCode} for errors found by the HTTP layer itself, before any domain code
 * runs. All carry the code `AEV_REQUEST_INVALID`: the code says "your request is wrong", the status says how.
 */
export const transportStatus = {
  /** The request's `Content-Type` is not JSON. */
  unsupportedMediaType: 415,
  /** The path exists but not with this method; the response carries `Allow`. */
  methodNotAllowed: 405,
  /** The request was not received before the server's request timeout. */
  requestTimeout: 408,
  /** The request line and headers are above Node's header size limit (16 KiB by default). */
  requestHeaderFieldsTooLarge: 431,
} as const;

/** The HTTP status for an error code, from {@link httpStatusByCode}. */
export function httpStatusFor(code: ErrorCode): number {
  return httpStatusByCode[code];
}
