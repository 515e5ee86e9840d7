export type { LoggerOptions, ServerOptions } from './create-server.js';
export {
  createServer,
  redactedLogPaths,
  defaultBatchBodyLimitBytes,
  defaultBatchEventsMax,
  defaultBodyLimitBytes,
  defaultRequestTimeoutMs,
  defaultRequestsInFlightMax,
  defaultStateQueriesInFlightMax,
} from './create-server.js';
export { defaultWebSocketBufferedBytesMax } from './routes/subscriptions-ws.js';
export type { BatchResponse } from './routes/events.js';
export type { Problem, ProblemInput } from './http/problem.js';
export {
  createProblem,
  problemContentType,
  problemTitleByCode,
  problemTypeBase,
} from './http/problem.js';
export type { ProgrammerErrorListener } from './http/error-handler.js';
export { httpStatusByCode, httpStatusFor, transportStatus } from './http/status-by-code.js';
export type { ApiKeyAuthOptions } from './http/api-key-auth.js';
export {
  defaultApiKeyCacheEntriesMax,
  defaultApiKeyCacheTtlMs,
  hashApiKeySecret,
} from './http/api-key-auth.js';
