import type { ErrorCode, ErrorDetailsByCode } from '@aevon/core';
import { isAevonError } from '@aevon/core';
import { httpStatusByCode } from './status-by-code.js';

/** The media type of every error body (RFC 9457). */
export const problemContentType = 'application/problem+json; charset=utf-8';

/**
 * The prefix of a problem's `type`: `https://aevon.dev/errors/AEV_REQUEST_INVALID`. The URI identifies the code; it
 * is an identifier first and documentation second (docs/errors.md has one section per code).
 */
export const problemTypeBase = 'https://aevon.dev/errors/';

/** A short, stable, human title per code: the same for every occurrence of the code (RFC 9457 `title`). */
export const problemTitleByCode = {
  AEV_REQUEST_INVALID: 'Invalid request',
  AEV_STREAM_NOT_FOUND: 'Stream not found',
  AEV_STREAM_VERSION_MISMATCH: 'Stream version mismatch',
  AEV_EVENT_ID_DUPLICATE: 'Duplicate event id',
  AEV_APPEND_BATCH_TOO_LARGE: 'Append batch too large',
  AEV_EVENT_DATA_TOO_LARGE: 'Event data too large',
  AEV_READ_LIMIT_TOO_LARGE: 'Read limit too large',
  AEV_SCHEMA_VALIDATION_FAILED: 'Schema validation failed',
  AEV_RULE_UNKNOWN: 'Unknown rule',
  AEV_CONFIG_INVALID: 'Invalid configuration',
  AEV_OVERLOADED: 'Overloaded',
  AEV_STORAGE_UNAVAILABLE: 'Storage unavailable',
  AEV_STORAGE_SCHEMA_MISMATCH: 'Storage schema mismatch',
  AEV_NOT_FOUND: 'Not found',
  AEV_INTERNAL: 'Internal error',
  AEV_UNAUTHENTICATED: 'Unauthenticated',
  AEV_FORBIDDEN: 'Forbidden',
  AEV_DDL_INVALID: 'Invalid definition',
  AEV_EVENT_DATA_INVALID: 'Invalid event data',
  AEV_AGGREGATE_CONFLICT: 'Aggregate conflict',
  AEV_DEFINITIONS_CHANGED: 'Definitions changed',
  AEV_MIGRATION_INVALID: 'Invalid migration',
  AEV_SQL_INVALID: 'Invalid SQL query',
  AEV_SQL_TIMEOUT: 'SQL query timeout',
} as const satisfies Record<ErrorCode, string>;

/**
 * An RFC 9457 problem document as Aevon sends it. `code` and `details` are the {@link AevonError}'s; `instance` is
 * `urn:aevon:request:<request id>` and `request_id` repeats the id for clients that do not parse URNs.
 */
export interface Problem<Code extends ErrorCode = ErrorCode> {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly code: Code;
  readonly detail: string;
  readonly details: ErrorDetailsByCode[Code];
  readonly instance: string;
  readonly request_id: string;
}

/** What {@link createProblem} needs. `status` defaults to the code's entry in {@link httpStatusByCode}. */
export interface ProblemInput<Code extends ErrorCode> {
  readonly code: Code;
  readonly detail: string;
  readonly details: ErrorDetailsByCode[Code];
  readonly requestId: string;
  readonly status?: number;
}

/** Builds a problem document. */
export function createProblem<Code extends ErrorCode>(input: ProblemInput<Code>): Problem<Code> {
  return {
    type: `${problemTypeBase}${input.code}`,
    title: problemTitleByCode[input.code],
    status: input.status ?? httpStatusByCode[input.code],
    code: input.code,
    detail: input.detail,
    details: input.details,
    instance: `urn:aevon:request:${input.requestId}`,
    request_id: input.requestId,
  };
}

/** The problem for an unexpected failure: a fixed message that points at the log, never the real one. */
export function internalProblem(requestId: string): Problem<'AEV_INTERNAL'> {
  return createProblem({
    code: 'AEV_INTERNAL',
    detail: `internal error; the server log has the cause under request id ${requestId}`,
    details: { requestId },
    requestId,
  });
}

/**
 * The problem for an {@link AevonError}, or null for anything else (the caller logs it and answers
 * {@link internalProblem}). An `AEV_INTERNAL` error is answered with the fixed internal message as well.
 */
export function problemFromAevonError(error: unknown, requestId: string): Problem | null {
  if (!isAevonError(error)) return null;
  if (error.code === 'AEV_INTERNAL') return internalProblem(requestId);
  return createProblem<ErrorCode>({
    code: error.code,
    detail: error.message,
    details: error.details,
    requestId,
  });
}

/** The `Retry-After` of a 503 `AEV_STORAGE_UNAVAILABLE` (database down, or the server shutting down): 1 s. */
export const unavailableRetryAfterSeconds = 1;

/**
 * The `Retry-After` header value in whole seconds (at least 1) for a problem a client should retry later: an
 * `AEV_OVERLOADED` problem (429, from its `retryAfterMs`) or an `AEV_STORAGE_UNAVAILABLE` one (503,
 * {@link unavailableRetryAfterSeconds}); undefined for any other.
 */
export function retryAfterSeconds(problem: Problem): number | undefined {
  if (problem.code === 'AEV_STORAGE_UNAVAILABLE') return unavailableRetryAfterSeconds;
  if (problem.code !== 'AEV_OVERLOADED') return undefined;
  const details = problem.details as ErrorDetailsByCode['AEV_OVERLOADED'];
  const ms = Number.isFinite(details.retryAfterMs) ? details.retryAfterMs : 1000;
  return Math.max(1, Math.ceil(ms / 1000));
}
