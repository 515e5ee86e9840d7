import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Problem } from './problem.js';
import {
  createProblem,
  internalProblem,
  problemContentType,
  problemFromAevonError,
  retryAfterSeconds,
} from './problem.js';
import { transportStatus } from './status-by-code.js';
import { TransportError } from './transport-error.js';

/** Called with a programmer error (an `AssertionError`) after its 500 answer is sent; see STYLE 2.6. */
export type ProgrammerErrorListener = (error: Error) => void;

/**
 * Sends `problem` as `application/problem+json`, with `Retry-After` on every 429 `AEV_OVERLOADED` and 503
 * `AEV_STORAGE_UNAVAILABLE`.
 */
export function sendProblem(reply: FastifyReply, problem: Problem): FastifyReply {
  const retryAfter = retryAfterSeconds(problem);
  if (retryAfter !== undefined) void reply.header('retry-after', String(retryAfter));
  return reply.code(problem.status).type(problemContentType).send(problem);
}

/**
 * The problem for an error thrown while handling `request`: an {@link AevonError} keeps its code; an error Fastify
 * raised about the request itself (bad JSON, wrong content type, body too large) becomes an `AEV_` code; anything
 * else is `AEV_INTERNAL`, and `isUnexpected` tells the caller to log the real error.
 */
export function problemForError(
  error: unknown,
  request: FastifyRequest,
): { readonly problem: Problem; readonly isUnexpected: boolean } {
  const coded = problemFromAevonError(error, request.id);
  if (coded !== null) return { problem: coded, isUnexpected: coded.code === 'AEV_INTERNAL' };
  if (error instanceof TransportError) {
    return { problem: transportProblem(error, request.id), isUnexpected: false };
  }
  const transport = problemFromFastifyError(error, request);
  if (transport !== null) return { problem: transport, isUnexpected: false };
  return { problem: internalProblem(request.id), isUnexpected: true };
}

/** The `AEV_REQUEST_INVALID` problem, at the error's own status, for a {@link TransportError}. */
function transportProblem(error: TransportError, requestId: string): Problem {
  return createProblem({
    code: 'AEV_REQUEST_INVALID',
    detail: error.reason,
    details: { reason: error.reason, field: error.field },
    requestId,
    status: error.status,
  });
}

/** True for an `AssertionError` (core's or Node's): a bug, after which the process should not carry on. */
export function isProgrammerError(error: unknown): error is Error {
  return error instanceof Error && error.name === 'AssertionError';
}

/** Codes of the errors a request body stream raises when the client aborts or closes the connection mid-body. */
const bodyStreamErrorCodes: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNABORTED',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

/**
 * Maps Fastify's own client errors (`FST_ERR_CTP_*`, JSON syntax errors) to problems. Only 4xx errors qualify: their
 * messages describe the request, never server internals, so they may be shown. Returns null for anything else.
 */
function problemFromFastifyError(error: unknown, request: FastifyRequest): Problem | null {
  if (!(error instanceof Error)) return null;
  const { statusCode, code } = error as Error & { statusCode?: unknown; code?: unknown };
  if (typeof statusCode !== 'number' || statusCode < 400 || statusCode > 499) return null;
  const requestId = request.id;
  if (typeof code === 'string' && bodyStreamErrorCodes.has(code)) {
    // The client stopped sending before the body was complete (Fastify marks such stream errors 400); the answer
    // rarely reaches it, but it is a client error, not a server failure to log.
    const reason = 'the request body ended before it was complete';
    return createProblem({
      code: 'AEV_REQUEST_INVALID',
      detail: reason,
      details: { reason, field: 'body' },
      requestId,
    });
  }
  const isFastify = typeof code === 'string' && code.startsWith('FST_');
  if (!isFastify && !(error instanceof SyntaxError)) return null;
  if (statusCode === 413) return bodyTooLargeProblem(request);
  if (statusCode === 404) {
    const resource = `${request.method} ${request.url}`;
    return createProblem({
      code: 'AEV_NOT_FOUND',
      detail: `${resource} not found`,
      details: { resource },
      requestId,
    });
  }
  if (statusCode === 415) {
    const reason = 'the request body must be JSON (Content-Type: application/json)';
    const details = { reason, field: 'content-type' };
    const status = transportStatus.unsupportedMediaType;
    return createProblem({
      code: 'AEV_REQUEST_INVALID',
      detail: reason,
      details,
      requestId,
      status,
    });
  }
  const reason =
    error instanceof SyntaxError
      ? `the request body is not valid JSON: ${error.message}`
      : error.message;
  return createProblem({
    code: 'AEV_REQUEST_INVALID',
    detail: reason,
    details: { reason },
    requestId,
  });
}

/**
 * 413 for a body above the route's limit. The code is `AEV_EVENT_DATA_TOO_LARGE`; `details.id` is empty because the
 * body was never parsed, and `details.bytes` is the declared Content-Length (or the limit + 1 when none was sent).
 */
function bodyTooLargeProblem(request: FastifyRequest): Problem {
  const max = request.routeOptions.bodyLimit ?? 0;
  const declared = Number(request.headers['content-length']);
  const bytes = Number.isSafeInteger(declared) && declared > max ? declared : max + 1;
  return createProblem({
    code: 'AEV_EVENT_DATA_TOO_LARGE',
    detail: `the request body is larger than this route's limit of ${max} bytes`,
    details: { id: '', bytes, max },
    requestId: request.id,
  });
}
