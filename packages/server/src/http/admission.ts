import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AevonError } from '@aevon/core';

/** The `Retry-After` a client is given when the server turns a request away for load: 1 s. */
export const overloadRetryAfterMs = 1000;

/** Options of {@link registerAdmission}. */
export interface AdmissionOptions {
  /** Requests handled at once; one more is answered 429 before its body is read. */
  readonly requestsInFlightMax: number;
  /**
   * Paths never turned away (liveness and readiness probes, so that an overloaded server still reports itself; and
   * subscription streams, which have their own bound): exact paths, or patterns a path must match.
   */
  readonly exemptPaths: readonly (string | RegExp)[];
}

/**
 * Bounds the requests in flight: an `onRequest` hook (before the body is read or parsed) counts each request until
 * its response is finished or its connection closes, and answers one beyond `requestsInFlightMax` with 429
 * `AEV_OVERLOADED` and `Retry-After`. The count is per process; it keeps the memory of queued bodies, parsed
 * envelopes and pending appends bounded however many connections a client opens.
 */
export function registerAdmission(app: FastifyInstance, options: AdmissionOptions): void {
  const max = options.requestsInFlightMax;
  let inFlight = 0;
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split('?')[0] ?? request.url;
    if (
      options.exemptPaths.some((exempt) =>
        typeof exempt === 'string' ? exempt === path : exempt.test(path),
      )
    )
      return;
    if (inFlight >= max) {
      throw new AevonError('AEV_OVERLOADED', {
        queued: inFlight,
        max,
        retryAfterMs: overloadRetryAfterMs,
      });
    }
    inFlight += 1;
    let isReleased = false;
    // 'close' fires once the response is sent or the connection is gone, whichever comes first.
    reply.raw.once('close', () => {
      if (isReleased) return;
      isReleased = true;
      inFlight -= 1;
    });
  });
}

/**
 * A counting limit on concurrent operations of one kind (state queries): {@link ConcurrencyLimit.run} runs the
 * operation when fewer than `max` are running and otherwise rejects at once with `AEV_OVERLOADED`, rather than
 * queueing without bound behind the database pool.
 */
export interface ConcurrencyLimit {
  run<T>(operation: () => Promise<T>): Promise<T>;
}

/** Creates a {@link ConcurrencyLimit} of `max` operations at once. */
export function createConcurrencyLimit(max: number): ConcurrencyLimit {
  let running = 0;
  return {
    run: async (operation) => {
      if (running >= max) {
        throw new AevonError('AEV_OVERLOADED', {
          queued: running,
          max,
          retryAfterMs: overloadRetryAfterMs,
        });
      }
      running += 1;
      try {
        return await operation();
      } finally {
        running -= 1;
      }
    },
  };
}
