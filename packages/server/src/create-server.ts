import Fastify from 'fastify';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { assert } from '@aevon/core';
import type { DefinitionsEngine, MeteringEngine } from '@aevon/engine';
import type { ApiKeyAuthOptions } from './http/api-key-auth.js';
import { registerApiKeyAuth } from './http/api-key-auth.js';
import { createConcurrencyLimit, registerAdmission } from './http/admission.js';
import { createClientErrorHandler } from './http/client-error.js';
import type { ProgrammerErrorListener } from './http/error-handler.js';
import { isProgrammerError, problemForError, sendProblem } from './http/error-handler.js';
import { registerJsonBodyParser } from './http/json-body.js';
import { createProblem, internalProblem } from './http/problem.js';
import { transportStatus } from './http/status-by-code.js';
import { registerEventRoutes } from './routes/events.js';
import { registerHealthRoutes } from './routes/health.js';
import {
  namedSubscriptionAckPath,
  namedSubscriptionListPath,
  namedSubscriptionPath,
  registerNamedSubscriptionRoutes,
} from './routes/named-subscriptions.js';
import { registerStateRoutes } from './routes/state.js';
import {
  aggregateChangeWebSocketFeeds,
  aggregateChangesPathPattern,
  aggregateChangesPaths,
  aggregateChangesWebSocketPaths,
  aggregateRowPaths,
  definitionsPaths,
  isTypedWritePath,
  registerTypedRoutes,
  sqlPaths,
  typedStreamPaths,
} from './routes/typed.js';
import {
  defaultSubscribersMax,
  namedSubscriptionEventsPath,
  registerSubscriptionRoutes,
  subscriptionPaths,
  subscriptionStreamPathPattern,
} from './routes/subscriptions.js';
import {
  defaultWebSocketBufferedBytesMax,
  webSocketSubscriptionPaths,
} from './routes/subscriptions-ws.js';

/** Default body limit of a single-event request: 1 MiB. */
export const defaultBodyLimitBytes = 1024 * 1024;
/** Default body limit of `POST /v1/events/batch`: 16 MiB. */
export const defaultBatchBodyLimitBytes = 16 * 1024 * 1024;
/** Default maximum of events in one batch request (core's `appendEventsMax`). */
export const defaultBatchEventsMax = 10_000;
/** Default maximum of requests handled at once (beyond it: 429 before the body is read). */
export const defaultRequestsInFlightMax = 1_024;
/** Default maximum of state queries answered at once (beyond it: 429). */
export const defaultStateQueriesInFlightMax = 64;
/** Default time a client has to send a whole request (headers and body): 30 s. */
export const defaultRequestTimeoutMs = 30_000;
/**
 * The longest raw (percent-encoded) path parameter the router accepts: room for a principal id of the longest allowed
 * length written entirely in escaped multi-byte characters. Fastify's default of 100 would refuse principals that
 * ingest accepts; the principal's own length limit is then checked on the decoded id.
 */
const pathParamLengthMax = 8 * 1024;

/** Options for {@link createServer}. */
export interface ServerOptions {
  readonly engine: MeteringEngine;
  /**
   * Typed event types, streams and aggregates (`POST /v1/streams/...`, `/v1/aggregates/{name}/...`, `/v1/sql`,
   * `/v1/definitions`). Default: none, and those routes answer 404.
   */
  readonly definitions?: DefinitionsEngine;
  /**
   * Fastify logging: `false` (the default) logs nothing, `true` or `{ level }` logs JSON lines to stdout (or to
   * `stream`) through Fastify's pino, with the `Authorization` header redacted ({@link redactedLogPaths}); a logger
   * instance is used as is (its owner configures redaction). Unexpected errors are logged at `error` with the
   * request id.
   */
  readonly logger?: boolean | LoggerOptions | FastifyBaseLogger;
  /**
   * API key authentication (docs/reference/http.md#authentication). Default: none, every route is open. The CLI
   * passes it unless `auth.required: false`.
   */
  readonly apiKeys?: ApiKeyAuthOptions;
  /** Body limit of `POST /v1/events` and `/v1/ingest`, in bytes. Default: {@link defaultBodyLimitBytes}. */
  readonly bodyLimitBytes?: number;
  /** Body limit of `POST /v1/events/batch`, in bytes. Default: {@link defaultBatchBodyLimitBytes}. */
  readonly batchBodyLimitBytes?: number;
  /** Events in one batch request. Default: {@link defaultBatchEventsMax}. */
  readonly batchEventsMax?: number;
  /**
   * Requests handled at once, counted from arrival until the response is sent; one more is answered 429
   * `AEV_OVERLOADED` with `Retry-After` before its body is read. `/health` and `/ready` are never turned away.
   * Default: {@link defaultRequestsInFlightMax}.
   */
  readonly requestsInFlightMax?: number;
  /** State queries answered at once; one more is 429 `AEV_OVERLOADED`. Default: {@link defaultStateQueriesInFlightMax}. */
  readonly stateQueriesInFlightMax?: number;
  /**
   * Subscriptions (`GET /v1/subscriptions`, SSE and WebSocket together) open at once; one more is 429. Default:
   * {@link defaultSubscribersMax}.
   */
  readonly subscribersMax?: number;
  /**
   * Bytes a WebSocket subscriber's send buffer may hold before its subscription stops reading the log until the
   * socket flushes. Default: {@link defaultWebSocketBufferedBytesMax}.
   */
  readonly webSocketBufferedBytesMax?: number;
  /**
   * Milliseconds a client has to send a whole request; Node answers a slower one 408 and closes its connection, so
   * that a client trickling its body cannot hold one of the `requestsInFlightMax` places for ever (Fastify's own
   * default is no limit). Default: {@link defaultRequestTimeoutMs}.
   */
  readonly requestTimeoutMs?: number;
  /**
   * Prefix of request ids (`<prefix><counter>`); the counter restarts with the process, so a caller that wants ids
   * unique across restarts passes a random prefix. Default: `req-`.
   */
  readonly requestIdPrefix?: string;
  /**
   * Called after a programmer error (an `AssertionError`) has been answered with 500; the CLI shuts down and exits
   * non-zero so that a supervisor restarts a process whose state may be corrupt. Default: only logged.
   */
  readonly onProgrammerError?: ProgrammerErrorListener;
}

/** The `{ level }` form of {@link ServerOptions.logger}. */
export interface LoggerOptions {
  readonly level: string;
  /** Where log lines go. Default: stdout. */
  readonly stream?: { write(line: string): void };
}

/**
 * Log paths pino replaces with `[redacted]`: wherever a request's headers could appear, so that an API key never
 * reaches a log even if a serializer or a log call includes the headers.
 */
export const redactedLogPaths: readonly string[] = [
  'req.headers.authorization',
  'request.headers.authorization',
  'headers.authorization',
  'req.headers.cookie',
  'headers.cookie',
];

/**
 * Creates the HTTP server (Fastify) on a metering engine, without listening: call `listen()` on the result, or
 * `inject()` in tests. Every error answer is `application/problem+json` with an `AEV_` code (docs/reference/http.md);
 * `close()` first answers new requests 503, then waits for those in flight. The engine is not closed here.
 */
export function createServer(options: ServerOptions): FastifyInstance {
  const app = createFastify(options);
  let isClosing = false;
  app.addHook('preClose', async () => {
    isClosing = true;
  });
  app.addHook('onRequest', async (request, reply) => {
    void reply.header('x-request-id', request.id);
    if (request.raw.httpVersion === '1.1' && request.headers.host === undefined) {
      return sendProblem(reply, missingHostProblem(request));
    }
    if (!isClosing) return;
    void reply.header('connection', 'close');
    const reason = 'the server is shutting down';
    const problem = createProblem({
      code: 'AEV_STORAGE_UNAVAILABLE',
      detail: reason,
      details: { reason },
      requestId: request.id,
    });
    return sendProblem(reply, problem);
  });
  // Admission first, so that requests without a valid key are bounded too.
  registerAdmission(app, {
    requestsInFlightMax: positive(options.requestsInFlightMax ?? defaultRequestsInFlightMax),
    // Probes always answer; subscriptions are long-lived and have their own bound (subscribersMax).
    exemptPaths: [
      '/health',
      '/ready',
      ...subscriptionPaths,
      ...webSocketSubscriptionPaths,
      subscriptionStreamPathPattern,
      aggregateChangesPathPattern,
    ],
  });
  if (options.apiKeys !== undefined) registerApiKeyAuth(app, options.apiKeys);
  // Only JSON bodies are accepted; without this, text/plain would reach the routes as a string.
  app.removeContentTypeParser('text/plain');
  // The seed's typed writes end their objects with a trailing comma: accepted there, and only there.
  registerJsonBodyParser(app, { allowsTrailingCommas: isTypedWritePath });
  app.setErrorHandler((error, request, reply) =>
    handleError(error, request, reply, options.onProgrammerError),
  );
  app.setNotFoundHandler((request, reply) => sendProblem(reply, notFoundProblem(request)));
  registerEventRoutes(app, {
    engine: options.engine,
    bodyLimitBytes: options.bodyLimitBytes ?? defaultBodyLimitBytes,
    batchBodyLimitBytes: options.batchBodyLimitBytes ?? defaultBatchBodyLimitBytes,
    batchEventsMax: options.batchEventsMax ?? defaultBatchEventsMax,
  });
  const stateQueries = createConcurrencyLimit(
    positive(options.stateQueriesInFlightMax ?? defaultStateQueriesInFlightMax),
  );
  registerStateRoutes(app, options.engine, stateQueries);
  const subscriptions = registerSubscriptionRoutes(app, options.engine, {
    ...(options.definitions === undefined
      ? {}
      : { webSocketFeeds: aggregateChangeWebSocketFeeds(options.definitions) }),
    subscribersMax: positive(options.subscribersMax ?? defaultSubscribersMax),
    webSocketBufferedBytesMax: positive(
      options.webSocketBufferedBytesMax ?? defaultWebSocketBufferedBytesMax,
    ),
  });
  registerNamedSubscriptionRoutes(app, options.engine);
  if (options.definitions !== undefined) {
    registerTypedRoutes(app, {
      definitions: options.definitions,
      queries: stateQueries,
      subscriptions,
    });
  }
  registerHealthRoutes(app, options.engine);
  registerMethodNotAllowed(app);
  return app;
}

function positive(max: number): number {
  assert(Number.isSafeInteger(max) && max > 0, 'a server limit is a positive integer');
  return max;
}

function createFastify(options: ServerOptions): FastifyInstance {
  const prefix = options.requestIdPrefix ?? 'req-';
  let requestCount = 0;
  const nextRequestId = (): string => {
    requestCount += 1;
    return `${prefix}${requestCount}`;
  };
  const common = {
    genReqId: nextRequestId,
    // A closing server answers with Aevon's own 503 problem (the onRequest hook), not Fastify's body.
    return503OnClosing: false,
    bodyLimit: options.bodyLimitBytes ?? defaultBodyLimitBytes,
    requestTimeout: positive(options.requestTimeoutMs ?? defaultRequestTimeoutMs),
    routerOptions: { maxParamLength: pathParamLengthMax },
    // Errors the router and Node's HTTP parser find before any route runs get problem bodies too.
    frameworkErrors: (error: Error, request: FastifyRequest, reply: FastifyReply) => {
      void sendProblem(reply.header('x-request-id', request.id), frameworkProblem(error, request));
    },
    clientErrorHandler: createClientErrorHandler(nextRequestId),
    // Node would answer an HTTP/1.1 request without Host with a bare 400 of its own; the onRequest hook answers it
    // with a problem instead (RFC 9112 3.2 still holds: it is refused).
    http: { requireHostHeader: false },
  };
  const logger = options.logger ?? false;
  if (isLoggerInstance(logger)) {
    return Fastify({ ...common, loggerInstance: logger });
  }
  const redact = { paths: [...redactedLogPaths], censor: '[redacted]' };
  if (logger === false) return Fastify({ ...common, logger });
  const level = logger === true ? 'info' : logger.level;
  const stream = logger === true ? undefined : logger.stream;
  return Fastify({
    ...common,
    logger: stream === undefined ? { level, redact } : { level, redact, stream },
  });
}

function isLoggerInstance(
  logger: NonNullable<ServerOptions['logger']>,
): logger is FastifyBaseLogger {
  return typeof logger === 'object' && typeof (logger as { child?: unknown }).child === 'function';
}

function handleError(
  error: unknown,
  request: FastifyRequest,
  reply: FastifyReply,
  onProgrammerError: ProgrammerErrorListener | undefined,
): FastifyReply {
  const { problem, isUnexpected } = problemForError(error, request);
  if (isUnexpected) request.log.error({ err: error }, 'unexpected error');
  const sent = sendProblem(reply, problem);
  if (isProgrammerError(error) && onProgrammerError !== undefined) onProgrammerError(error);
  return sent;
}

/**
 * The problem for an error the router raises instead of routing: a path that is not valid percent-encoded UTF-8
 * (`FST_ERR_BAD_URL`) or a path parameter over {@link pathParamLengthMax} (`FST_ERR_MAX_PARAM_LENGTH`) is 400
 * `AEV_REQUEST_INVALID`; anything else is unexpected.
 */
function frameworkProblem(error: Error, request: FastifyRequest) {
  const { code } = error as Error & { code?: unknown };
  if (code === 'FST_ERR_BAD_URL' || code === 'FST_ERR_MAX_PARAM_LENGTH') {
    const reason =
      code === 'FST_ERR_BAD_URL'
        ? 'the path is not valid percent-encoded UTF-8'
        : `a path segment is longer than ${pathParamLengthMax} characters`;
    return createProblem({
      code: 'AEV_REQUEST_INVALID',
      detail: reason,
      details: { reason, field: 'path' },
      requestId: request.id,
    });
  }
  request.log.error({ err: error }, 'unexpected error');
  return internalProblem(request.id);
}

function missingHostProblem(request: FastifyRequest) {
  const reason = 'an HTTP/1.1 request must carry a Host header';
  return createProblem({
    code: 'AEV_REQUEST_INVALID',
    detail: reason,
    details: { reason, field: 'host' },
    requestId: request.id,
  });
}

function notFoundProblem(request: FastifyRequest) {
  const resource = `${request.method} ${request.url.split('?')[0] ?? request.url}`;
  return createProblem({
    code: 'AEV_NOT_FOUND',
    detail: `no route ${resource}`,
    details: { resource },
    requestId: request.id,
  });
}

const allowedMethodsByUrl: ReadonlyArray<readonly [string, readonly string[]]> = [
  ['/v1/events', ['POST']],
  ['/v1/ingest', ['POST']],
  ['/v1/events/batch', ['POST']],
  ['/v1/state/:principal_id', ['GET', 'HEAD']],
  ['/v1/aggregates/:principal_id', ['GET', 'HEAD']],
  ['/health', ['GET', 'HEAD']],
  ['/ready', ['GET', 'HEAD']],
  ['/v1/subscriptions', ['GET']],
  ['/subscriptions', ['GET']],
  [namedSubscriptionPath, ['GET', 'HEAD', 'PUT', 'DELETE']],
  [namedSubscriptionEventsPath, ['GET']],
  [namedSubscriptionAckPath, ['POST']],
  [namedSubscriptionListPath, ['GET', 'HEAD']],
  ['/v1/subscriptions/ws', ['GET']],
  ['/subscriptions/ws', ['GET']],
  ...typedStreamPaths.map((url) => [url, ['POST']] as const),
  ...aggregateRowPaths.map((url) => [url, ['GET', 'HEAD']] as const),
  ...aggregateChangesPaths.map((url) => [url, ['GET']] as const),
  ...aggregateChangesWebSocketPaths.map((url) => [url, ['GET']] as const),
  ...sqlPaths.map((url) => [url, ['POST']] as const),
  ...definitionsPaths.map((url) => [url, ['GET', 'HEAD']] as const),
];
const allMethods = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/**
 * Answers a known path with another method 405 `AEV_REQUEST_INVALID` and an `Allow` header, before any body is
 * parsed (an `onRequest` hook), rather than Fastify's 404.
 */
function registerMethodNotAllowed(app: FastifyInstance): void {
  for (const [url, allowed] of allowedMethodsByUrl) {
    const others = allMethods.filter((method) => !allowed.includes(method));
    const allow = allowed.join(', ');
    app.route({
      method: others,
      url,
      onRequest: async (request, reply) => {
        const reason = `${request.method} is not allowed here; use ${allow}`;
        const problem = createProblem({
          code: 'AEV_REQUEST_INVALID',
          detail: reason,
          details: { reason, field: 'method' },
          requestId: request.id,
          status: transportStatus.methodNotAllowed,
        });
        return sendProblem(reply.header('allow', allow), problem);
      },
      handler: async () => undefined,
    });
  }
}
