export type { ServerOptions } from './create-server.js';
export {
  createServer,
  defaultBatchBodyLimitBytes,
  defaultBatchEventsMax,
  defaultBodyLimitBytes,
  defaultRequestTimeoutMs,
  defaultRequestsInFlightMax,
  defaultStateQueriesInFlightMax,
} from './create-server.js';
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
