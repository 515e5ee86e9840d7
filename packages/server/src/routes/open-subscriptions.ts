import { AevonError } from '@aevon/core';
import type { SubscriptionRequest } from '@aevon/engine';
import { overloadRetryAfterMs } from '../http/admission.js';

/** One open subscription's place: its abort controller, and the release that frees the place and aborts it. */
export interface SubscriptionPlace {
  readonly controller: AbortController;
  /** Frees the place and ends the subscription; calling it again does nothing. */
  readonly release: () => void;
}

/** The subscriptions open on one server, SSE and WebSocket together, under one bound. */
export interface OpenSubscriptions {
  /**
   * Takes a place for a new subscription.
   * @throws AEV_OVERLOADED (429 with Retry-After) when `subscribersMax` are open.
   */
  reserve(): SubscriptionPlace;
  /** Ends every open subscription (the server is closing). */
  abortAll(): void;
}

/** Creates the {@link OpenSubscriptions} of a server, at most `subscribersMax` at once. */
export function createOpenSubscriptions(subscribersMax: number): OpenSubscriptions {
  const controllers = new Set<AbortController>();
  return {
    reserve: () => {
      if (controllers.size >= subscribersMax) {
        throw new AevonError('AEV_OVERLOADED', {
          queued: controllers.size,
          max: subscribersMax,
          retryAfterMs: overloadRetryAfterMs,
        });
      }
      const controller = new AbortController();
      controllers.add(controller);
      return {
        controller,
        release: () => {
          controllers.delete(controller);
          controller.abort();
        },
      };
    },
    abortAll: () => {
      for (const controller of controllers) controller.abort();
    },
  };
}

/** A subscription request from the query parameters shared by the SSE and WebSocket endpoints. */
export function subscriptionRequestOf(
  query: Readonly<Record<string, unknown>>,
  from: unknown,
): SubscriptionRequest {
  return {
    from,
    streams: query['stream'],
    types: query['type'],
    principals: query['principal'],
  };
}
