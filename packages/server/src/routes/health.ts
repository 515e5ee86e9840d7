import type { FastifyInstance } from 'fastify';
import type { MeteringEngine } from '@aevon/engine';
import { AevonError, isAevonError } from '@aevon/core';

/**
 * Registers `GET /health` (liveness: 200 `{"status":"ok"}` while the process serves HTTP; never touches the
 * database) and `GET /ready` (readiness: 200 `{"status":"ready"}` once `engine.ready()` resolves, else a 503
 * `AEV_STORAGE_UNAVAILABLE` problem, whatever the engine threw, so that a load balancer reads one status).
 */
export function registerHealthRoutes(app: FastifyInstance, engine: MeteringEngine): void {
  app.get('/health', async () => ({ status: 'ok' }));
  app.get('/ready', async (request) => {
    try {
      await engine.ready();
    } catch (error) {
      if (isAevonError(error, 'AEV_STORAGE_UNAVAILABLE')) throw error;
      request.log.warn({ err: error }, 'readiness check failed');
      const reason = isAevonError(error) ? error.message : 'the engine is not ready';
      throw new AevonError('AEV_STORAGE_UNAVAILABLE', { reason }, { cause: error });
    }
    return { status: 'ready' };
  });
}
