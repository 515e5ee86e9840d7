import type { FastifyInstance } from 'fastify';
import type { MeteringEngine } from '@aevon/engine';
import type { ConcurrencyLimit } from '../http/admission.js';

/**
 * Registers the read path: `GET /v1/state/:principal_id` and its alias `GET /v1/aggregates/:principal_id`, answering
 * the engine's StateResponse as is. Query parameters are passed unvalidated; the engine validates them
 * (`AEV_REQUEST_INVALID`, `AEV_RULE_UNKNOWN`). Queries run under `limit` (429 `AEV_OVERLOADED` beyond it).
 */
export function registerStateRoutes(
  app: FastifyInstance,
  engine: MeteringEngine,
  limit: ConcurrencyLimit,
): void {
  for (const url of ['/v1/state/:principal_id', '/v1/aggregates/:principal_id']) {
    app.get<{ Params: { principal_id: string }; Querystring: Record<string, unknown> }>(
      url,
      async (request) => {
        const query = request.query;
        return limit.run(() =>
          engine.queryState({
            principalId: request.params.principal_id,
            rule: query['rule'],
            start: query['start'],
            end: query['end'],
            granularity: query['granularity'],
          }),
        );
      },
    );
  }
}
