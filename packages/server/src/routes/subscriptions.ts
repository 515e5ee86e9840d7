import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RecordedEvent, SubscriptionMessage } from '@aevon/core';
import type { MeteringEngine } from '@aevon/engine';
import { problemForError } from '../http/error-handler.js';

/**
 * Registers `GET /v1/subscriptions` (alias `GET /subscriptions`): a catch-up subscription on the log as Server-Sent
 * Events (docs/reference/http.md). The request is validated before the stream starts, so a bad one gets a
 * problem+json answer; a client resumes with `Last-Event-ID`, which every event and checkpoint carries. The socket's
 * backpressure is honoured: when the client reads slowly, the subscription waits for `drain` before reading further
 * from the log, so the server never buffers more than one page per subscriber. Closing the server ends every stream.
 */
export function registerSubscriptionRoutes(app: FastifyInstance, engine: MeteringEngine): void {
  const open = new Set<AbortController>();
  app.addHook('preClose', async () => {
    for (const controller of open) controller.abort();
  });
  for (const url of ['/v1/subscriptions', '/subscriptions']) {
    // No HEAD: it would open a stream that never sends a body.
    app.get<{ Querystring: Record<string, unknown> }>(
      url,
      { exposeHeadRoute: false },
      async (request, reply) => {
        const controller = new AbortController();
        const lastEventId = request.headers['last-event-id'];
        const query = request.query;
        const messages = await engine.openSubscription(
          {
            from:
              typeof lastEventId === 'string' && lastEventId !== '' ? lastEventId : query['from'],
            streams: query['stream'],
            types: query['type'],
            principals: query['principal'],
          },
          controller.signal,
        );
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
        open.add(controller);
        try {
          await stream(messages, raw, controller.signal);
        } catch (error) {
          if (!controller.signal.aborted) writeError(raw, request, error);
        } finally {
          open.delete(controller);
          controller.abort();
          raw.end();
        }
      },
    );
  }
}

async function stream(
  messages: AsyncIterable<SubscriptionMessage>,
  raw: ServerResponse,
  signal: AbortSignal,
): Promise<void> {
  for await (const message of messages) {
    if (signal.aborted) return;
    if (raw.write(formatMessage(message))) continue;
    // A slow reader: stop pulling from the log until the socket drains (or the client goes).
    await once(raw, 'drain', { signal }).catch(() => undefined);
  }
}

/** One SSE frame per message; events and checkpoints carry their position as the id to resume after. */
export function formatMessage(message: SubscriptionMessage): string {
  switch (message.kind) {
    case 'event':
      return frame('event', message.event.position, eventBody(message.event));
    case 'checkpoint':
      return frame('checkpoint', message.position, { position: message.position });
    case 'live':
      return frame('live', message.position, { position: message.position });
  }
}

function frame(name: string, id: string | null, body: unknown): string {
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
  raw.write(frame('error', null, problem));
}
