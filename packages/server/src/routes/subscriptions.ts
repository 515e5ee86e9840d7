import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RecordedEvent, SubscriptionMessage } from '@aevon/core';
import type { MeteringEngine } from '@aevon/engine';
import { problemForError } from '../http/error-handler.js';
import type { OpenSubscriptions } from './open-subscriptions.js';
import { createOpenSubscriptions, subscriptionRequestOf } from './open-subscriptions.js';
import type { WebSocketFeed } from './subscriptions-ws.js';
import { registerWebSocketSubscriptionRoutes } from './subscriptions-ws.js';

/** The paths of the subscription endpoint. */
export const subscriptionPaths = ['/v1/subscriptions', '/subscriptions'] as const;
/** The event stream of a named subscription (its definitions: routes/named-subscriptions.ts). */
export const namedSubscriptionEventsPath = '/v1/subscriptions/:name/events';
/** Request paths of long-lived subscription streams, which admission control leaves to `subscribersMax`. */
export const subscriptionStreamPathPattern = /^\/v1\/subscriptions\/[^/]+\/events$/;
/** Default most subscriptions open at once (each holds a connection and at most one page of events). */
export const defaultSubscribersMax = 1_000;

/** What {@link registerSubscriptionRoutes} needs besides the engine. */
export interface SubscriptionRoutesOptions {
  /**
   * Subscriptions open at once, SSE and WebSocket together; one more is answered 429 `AEV_OVERLOADED` with
   * `Retry-After`.
   */
  readonly subscribersMax: number;
  /** Bytes a WebSocket subscriber's send buffer may hold before the subscription waits for it to flush. */
  readonly webSocketBufferedBytesMax: number;
  /** More feeds served over WebSockets (the aggregate change feeds). Default: none. */
  readonly webSocketFeeds?: readonly WebSocketFeed[];
}

/**
 * Registers `GET /v1/subscriptions` (alias `GET /subscriptions`), its WebSocket form `GET /v1/subscriptions/ws`
 * ({@link registerWebSocketSubscriptionRoutes}), and `GET /v1/subscriptions/{name}/events` (a named
 * subscription from its stored checkpoint), which share the `subscribersMax` bound: a catch-up subscription on the
 * log as Server-Sent Events (docs/reference/http.md). The request is validated before the stream starts, so a bad one gets a
 * problem+json answer; a client resumes with `Last-Event-ID`, which every event and checkpoint carries. The socket's
 * backpressure is honoured: when the client reads slowly, the subscription waits for `drain` before reading further
 * from the log, so the server never buffers more than one page per subscriber. Closing the server ends every stream.
 */
export function registerSubscriptionRoutes(
  app: FastifyInstance,
  engine: MeteringEngine,
  options: SubscriptionRoutesOptions,
): OpenSubscriptions {
  const openSubscriptions = createOpenSubscriptions(options.subscribersMax);
  app.addHook('preClose', async () => openSubscriptions.abortAll());
  const admit = async (
    reply: FastifyReply,
    request: FastifyRequest,
    open: (signal: AbortSignal) => Promise<AsyncIterable<SubscriptionMessage>>,
  ): Promise<void> => {
    const place = openSubscriptions.reserve();
    try {
      await serveSse(request, reply, place.controller, { open, format: formatMessage });
    } finally {
      place.release();
    }
  };
  registerWebSocketSubscriptionRoutes(app, engine, {
    open: openSubscriptions,
    bufferedBytesMax: options.webSocketBufferedBytesMax,
    ...(options.webSocketFeeds === undefined ? {} : { feeds: options.webSocketFeeds }),
  });
  for (const url of subscriptionPaths) {
    // No HEAD: it would open a stream that never sends a body.
    app.get<{ Querystring: Record<string, unknown> }>(
      url,
      { exposeHeadRoute: false },
      async (request, reply) => {
        const lastEventId = lastEventIdOf(request);
        const query = request.query;
        await admit(reply, request, (signal) =>
          engine.openSubscription(
            subscriptionRequestOf(query, lastEventId ?? query['from']),
            signal,
          ),
        );
      },
    );
  }
  // A named subscription from its stored checkpoint; Last-Event-ID, when given, wins (the client saw further).
  app.get<{ Params: { name: string } }>(
    namedSubscriptionEventsPath,
    { exposeHeadRoute: false },
    async (request, reply) => {
      const lastEventId = lastEventIdOf(request);
      await admit(reply, request, async (signal) => {
        const handle = await engine.namedSubscriptions.open(
          request.params.name,
          lastEventId === undefined ? {} : { after: lastEventId },
          signal,
        );
        return handle.messages;
      });
    },
  );
  return openSubscriptions;
}

/** The `Last-Event-ID` header of a resuming SSE client, or undefined. */
export function lastEventIdOf(request: FastifyRequest): string | undefined {
  const lastEventId = request.headers['last-event-id'];
  return typeof lastEventId === 'string' && lastEventId !== '' ? lastEventId : undefined;
}

/** How an SSE endpoint opens its messages and writes each as a frame. */
export interface SseSource<T> {
  readonly open: (signal: AbortSignal) => Promise<AsyncIterable<T>>;
  readonly format: (message: T) => string;
}

/**
 * Serves messages as Server-Sent Events until the client goes or `controller` aborts: opened first, so that a bad
 * request is answered with a problem; then each message is written as `format` makes it, waiting for `drain` when the
 * client reads slowly; an error after the start travels as a last `error` frame.
 */
export async function serveSse<T>(
  request: FastifyRequest,
  reply: FastifyReply,
  controller: AbortController,
  source: SseSource<T>,
): Promise<void> {
  const messages = await source.open(controller.signal);
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    // The stream is the connection's last response: once it ends (server closing, error), the socket closes
    // instead of idling in keep-alive and holding up a shutdown.
    connection: 'close',
    'x-accel-buffering': 'no',
    'x-request-id': request.id,
  });
  // The client's comment line flushes the headers at once, and sets its reconnection delay.
  raw.write('retry: 1000\n: aevon subscription\n\n');
  raw.on('close', () => controller.abort());
  try {
    await stream(messages, raw, controller.signal, source.format);
  } catch (error) {
    if (!controller.signal.aborted) writeError(raw, request, error);
  } finally {
    raw.end();
  }
}

async function stream<T>(
  messages: AsyncIterable<T>,
  raw: ServerResponse,
  signal: AbortSignal,
  format: (message: T) => string,
): Promise<void> {
  for await (const message of messages) {
    if (signal.aborted) return;
    if (raw.write(format(message))) continue;
    // A slow reader: stop pulling from the log until the socket drains (or the client goes).
    await once(raw, 'drain', { signal }).catch(() => undefined);
  }
}

/** What every transport sends for one subscription message: its name, the position to resume after, its body. */
export interface SubscriptionFrame {
  readonly name: 'event' | 'change' | 'checkpoint' | 'live' | 'error';
  readonly id: string | null;
  readonly body: unknown;
}

/** The transport-neutral frame of a message; events and checkpoints carry their position as the id. */
export function subscriptionFrame(message: SubscriptionMessage): SubscriptionFrame {
  switch (message.kind) {
    case 'event':
      return { name: 'event', id: message.event.position, body: eventBody(message.event) };
    case 'checkpoint':
      return { name: 'checkpoint', id: message.position, body: { position: message.position } };
    case 'live':
      return { name: 'live', id: message.position, body: { position: message.position } };
  }
}

/** One SSE frame per message; events and checkpoints carry their position as the id to resume after. */
export function formatMessage(message: SubscriptionMessage): string {
  return formatSseFrame(subscriptionFrame(message));
}

/** One SSE frame: `id` (when the frame has one), `event`, `data`. */
export function formatSseFrame({ name, id, body }: SubscriptionFrame): string {
  const idLine = id === null ? '' : `id: ${id}\n`;
  return `${idLine}event: ${name}\ndata: ${JSON.stringify(body)}\n\n`;
}

/** An event as subscribers receive it (snake_case, as the rest of the HTTP API). */
export function eventBody(event: RecordedEvent): Record<string, unknown> {
  return {
    position: event.position,
    stream: event.stream,
    revision: event.revision.toString(),
    id: event.id,
    type: event.type,
    schema_version: event.schemaVersion,
    occurred_at: event.occurredAt,
    recorded_at: event.recordedAt,
    data: event.data,
    metadata: event.metadata,
    correlation_id: event.correlationId,
    causation_id: event.causationId,
  };
}

/** After the stream started, an error can only travel as a last frame: the problem, then the end of the stream. */
function writeError(raw: ServerResponse, request: FastifyRequest, error: unknown): void {
  const { problem, isUnexpected } = problemForError(error, request);
  if (isUnexpected) request.log.error({ err: error }, 'subscription failed');
  raw.write(formatSseFrame({ name: 'error', id: null, body: problem }));
}
