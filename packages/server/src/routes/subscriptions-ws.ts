import type { FastifyInstance, FastifyRequest } from 'fastify';
import fastifyWebsocket from '@fastify/websocket';
import type { WebSocket } from 'ws';
import type { SubscriptionMessage } from '@aevon/core';
import { invalidRequest } from '@aevon/core';
import type { MeteringEngine } from '@aevon/engine';
import { problemForError } from '../http/error-handler.js';
import type { SubscriptionFrame } from './subscriptions.js';
import { subscriptionFrame } from './subscriptions.js';
import type { OpenSubscriptions } from './open-subscriptions.js';
import { subscriptionRequestOf } from './open-subscriptions.js';

/** The paths of the WebSocket subscription endpoint. */
export const webSocketSubscriptionPaths = ['/v1/subscriptions/ws', '/subscriptions/ws'] as const;
/**
 * Default bound of a WebSocket subscriber's send buffer (`bufferedAmount`): 1 MiB. Above it the subscription stops
 * reading the log until the socket has flushed what it holds.
 */
export const defaultWebSocketBufferedBytesMax = 1024 * 1024;
/**
 * The largest message a subscriber may send: the protocol has no client messages, so anything bigger than a ping's
 * worth is refused by `ws` (close 1009) rather than buffered.
 */
const clientMessageBytesMax = 4 * 1024;

/**
 * Another feed served over a WebSocket the same way (the aggregate change feeds): opened, so validated, before the
 * upgrade, each message sent as one frame.
 */
export interface WebSocketFeed {
  readonly url: string;
  readonly open: (
    request: FastifyRequest<{
      Querystring: Record<string, unknown>;
      Params: Record<string, string>;
    }>,
    signal: AbortSignal,
  ) => Promise<AsyncIterable<SubscriptionFrame>>;
}

/** Options of {@link registerWebSocketSubscriptionRoutes}. */
export interface WebSocketSubscriptionOptions {
  readonly open: OpenSubscriptions;
  /** See {@link defaultWebSocketBufferedBytesMax}. */
  readonly bufferedBytesMax: number;
  /** More feeds on the same socket machinery. Default: none. */
  readonly feeds?: readonly WebSocketFeed[];
}

/** A subscription opened (validated) before the upgrade, waiting for its socket. */
interface Pending {
  readonly controller: AbortController;
  readonly messages: AsyncIterable<SubscriptionFrame>;
}

/**
 * Registers `GET /v1/subscriptions/ws` (alias `GET /subscriptions/ws`): the catch-up subscription of
 * `GET /v1/subscriptions` over a WebSocket (docs/reference/http.md). The request runs through every hook (admission,
 * API keys) and the subscription is opened, so validated, BEFORE the upgrade: a bad request, a missing key or one
 * subscriber too many is refused with a problem+json answer and no upgrade. Each message is one JSON text frame
 * `{ "type", "id", "data" }` with the body of the matching SSE frame. Backpressure: after each send, while the socket
 * holds more than `bufferedBytesMax` bytes, the subscription waits for them to be flushed before it reads on, so a
 * client that stops reading costs at most that buffer and one page of events. Closing the server closes the socket
 * (1001).
 */
export function registerWebSocketSubscriptionRoutes(
  app: FastifyInstance,
  engine: MeteringEngine,
  options: WebSocketSubscriptionOptions,
): void {
  const pending = new WeakMap<FastifyRequest, Pending>();
  // An upgrade request answered with a plain HTTP response (a 4xx from a hook, or any other route) leaves a socket
  // that Node's HTTP server no longer reads or times out: close it once the answer is sent. The plugin does this
  // only for requests that reached its own onRequest hook, which a refusal by an earlier hook (API keys,
  // admission) skips. A request that was upgraded is hijacked and never gets here.
  app.addHook('onResponse', async (request) => {
    if (request.raw.headers.upgrade !== undefined) request.raw.socket.destroy();
  });
  void app.register(fastifyWebsocket, { options: { maxPayload: clientMessageBytesMax } });
  // A child context, so that the route is declared after the plugin's onRoute hook exists.
  const subscriptionFeeds: WebSocketFeed[] = webSocketSubscriptionPaths.map((url) => ({
    url,
    open: async (request, signal) => {
      const query = request.query;
      return frames(
        await engine.openSubscription(subscriptionRequestOf(query, query['from']), signal),
      );
    },
  }));
  void app.register(async (scope) => {
    for (const { url, open } of [...subscriptionFeeds, ...(options.feeds ?? [])]) {
      scope.get<{ Querystring: Record<string, unknown>; Params: Record<string, string> }>(
        url,
        {
          websocket: true,
          exposeHeadRoute: false,
          preHandler: async (request) => {
            pending.set(request, await openBeforeUpgrade(open, options.open, request));
          },
        },
        async (socket, request) => {
          const opened = pending.get(request);
          pending.delete(request);
          if (opened === undefined) {
            socket.close(1011);
            return;
          }
          await serveSocket(socket, request, opened, options.bufferedBytesMax);
        },
      );
    }
  });
}

/** The frames of an event subscription's messages. */
async function* frames(
  messages: AsyncIterable<SubscriptionMessage>,
): AsyncGenerator<SubscriptionFrame> {
  for await (const message of messages) yield subscriptionFrame(message);
}

async function openBeforeUpgrade(
  openFeed: WebSocketFeed['open'],
  open: OpenSubscriptions,
  request: FastifyRequest<{ Querystring: Record<string, unknown>; Params: Record<string, string> }>,
): Promise<Pending> {
  if (!request.ws) {
    throw invalidRequest('must be a WebSocket upgrade (Upgrade: websocket)', 'upgrade');
  }
  const { controller, release } = open.reserve();
  // Whatever happens next (a refused request, a failed handshake, the socket's end), the connection's close
  // releases the place and ends the subscription.
  request.raw.socket.once('close', release);
  controller.signal.addEventListener('abort', release, { once: true });
  try {
    const messages = await openFeed(request, controller.signal);
    return { controller, messages };
  } catch (error) {
    release();
    throw error;
  }
}

async function serveSocket(
  socket: WebSocket,
  request: FastifyRequest,
  { controller, messages }: Pending,
  bufferedBytesMax: number,
): Promise<void> {
  const { signal } = controller;
  socket.on('close', () => controller.abort());
  // Subscribers have nothing to say: their messages are read (so that the socket keeps flowing) and dropped.
  socket.on('message', () => undefined);
  let closeCode = 1001;
  try {
    for await (const message of messages) {
      if (signal.aborted) break;
      const flushed = send(socket, message);
      // A slow reader: stop pulling from the log until the socket has flushed (or the client goes).
      if (socket.bufferedAmount > bufferedBytesMax) await untilAborted(flushed, signal);
    }
  } catch (error) {
    if (!signal.aborted) {
      const { problem, isUnexpected } = problemForError(error, request);
      if (isUnexpected) request.log.error({ err: error }, 'subscription failed');
      void send(socket, { name: 'error', id: null, body: problem });
      closeCode = 1011;
    }
  } finally {
    controller.abort();
    if (socket.readyState === socket.OPEN) socket.close(closeCode);
  }
}

/** Sends one frame as JSON text; resolves once `ws` has handed it to the operating system (or failed to). */
function send(socket: WebSocket, { name, id, body }: SubscriptionFrame): Promise<void> {
  return new Promise((resolve) => {
    if (socket.readyState !== socket.OPEN) {
      resolve();
      return;
    }
    socket.send(JSON.stringify({ type: name, id, data: body }), () => resolve());
  });
}

function untilAborted(promise: Promise<void>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      signal.removeEventListener('abort', done);
      resolve();
    };
    signal.addEventListener('abort', done, { once: true });
    void promise.then(done);
  });
}
