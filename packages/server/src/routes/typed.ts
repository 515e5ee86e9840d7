import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ExpectedRevision } from '@aevon/core';
import { invalidRequest, isPlainObject } from '@aevon/core';
import type { TypedWriteResult, Value } from '@aevon/ddl';
import type { AggregateChangeMessage, DefinitionsEngine } from '@aevon/engine';
import type { ConcurrencyLimit } from '../http/admission.js';
import type { OpenSubscriptions } from './open-subscriptions.js';
import type { SubscriptionFrame } from './subscriptions.js';
import { formatSseFrame, lastEventIdOf, serveSse } from './subscriptions.js';
import type { WebSocketFeed } from './subscriptions-ws.js';

/** `POST /v1/streams/{stream}` and `POST /v1/streams/{stream}/{key...}`, and the same without `/v1` (the seed's form). */
export const typedStreamPaths = [
  '/v1/streams/:stream',
  '/v1/streams/:stream/*',
  '/streams/:stream',
  '/streams/:stream/*',
] as const;
/** `GET /v1/aggregates/{name}/{key}` and `GET /aggregates/{name}/{key}`. */
export const aggregateRowPaths = ['/v1/aggregates/:name/:key', '/aggregates/:name/:key'] as const;
/** The change feed of an aggregate (Server-Sent Events). */
export const aggregateChangesPaths = [
  '/v1/aggregates/:name/changes',
  '/aggregates/:name/changes',
] as const;
/** The change feed of an aggregate over a WebSocket. */
export const aggregateChangesWebSocketPaths = [
  '/v1/aggregates/:name/changes/ws',
  '/aggregates/:name/changes/ws',
] as const;
/** Request paths of change feeds: long-lived, so admission control leaves them to `subscribersMax`. */
export const aggregateChangesPathPattern =
  /^\/(?:v1\/)?aggregates\/[^/?]+\/changes(?:\/ws)?(?:\?|$)/;
export const sqlPaths = ['/v1/sql', '/sql'] as const;
export const definitionsPaths = ['/v1/definitions'] as const;

/** Most characters of a `POST /v1/sql` query text. */
export const sqlTextLengthMax = 100_000;
/** Most `params` of a `POST /v1/sql` query. */
export const sqlParamsMax = 1_000;
/** Most key segments after the stream name in a typed write's path. */
export const pathKeysMax = 16;

const eventIdPattern = /^[\x21-\x7e]{1,256}$/;

/** What {@link registerTypedRoutes} needs. */
export interface TypedRoutesOptions {
  readonly definitions: DefinitionsEngine;
  /** Bounds SQL queries and row reads, with the state queries. */
  readonly queries: ConcurrencyLimit;
  /** Change feeds take their place among the server's subscriptions. */
  readonly subscriptions: OpenSubscriptions;
}

/**
 * Registers the typed event API (docs/reference/http.md, "Typed events and aggregates"): writes to streams, row reads,
 * SQL over the aggregate tables, the definitions in force, and the aggregate change feeds.
 */
export function registerTypedRoutes(app: FastifyInstance, options: TypedRoutesOptions): void {
  const { definitions, queries } = options;
  for (const url of typedStreamPaths) {
    app.post<{ Params: { stream: string; '*'?: string } }>(url, async (request, reply) => {
      const result = await definitions.write({
        stream: request.params.stream,
        eventType: eventTypeOf(request),
        body: request.body,
        pathValues: pathValuesOf(request.params['*']),
        ...optionalHeaders(request),
      });
      return reply.code(201).send(writeBody(result));
    });
  }
  for (const url of aggregateChangesPaths) {
    app.get<{ Params: { name: string }; Querystring: Record<string, unknown> }>(
      url,
      { exposeHeadRoute: false },
      async (request, reply) => {
        const from = lastEventIdOf(request) ?? request.query['from'];
        const place = options.subscriptions.reserve();
        try {
          await serveSse(request, reply, place.controller, {
            open: (signal) =>
              definitions.openChanges(
                { aggregate: request.params.name, from, keys: request.query['key'] },
                signal,
              ),
            format: formatChange,
          });
        } finally {
          place.release();
        }
      },
    );
  }
  for (const url of aggregateRowPaths) {
    app.get<{ Params: { name: string; key: string } }>(url, async (request) =>
      queries.run(() => definitions.readRow(request.params.name, request.params.key)),
    );
  }
  for (const url of sqlPaths) {
    app.post(url, async (request) => {
      const { sql, params, limit } = sqlRequestOf(request.body);
      return queries.run(() => definitions.query(sql, params, limit));
    });
  }
  for (const url of definitionsPaths) {
    app.get(url, async () => {
      const view = await definitions.describe();
      // snake_case on the wire, as the rest of the HTTP API.
      const migrations = view.migrations.map((migration) => ({
        name: migration.name,
        checksum: migration.checksum,
        version: migration.version,
        position: migration.position,
        recorded_at: migration.recordedAt,
      }));
      return { version: view.version, ddl: view.ddl, migrations };
    });
  }
}

/** The event type of a typed write: `X-Event-Type`, or the seed's spelling `XEvent-Type`; both must agree. */
function eventTypeOf(request: FastifyRequest): string {
  const values = [request.headers['x-event-type'], request.headers['xevent-type']].filter(
    (value) => value !== undefined,
  );
  const [first] = values;
  if (first === undefined) {
    throw invalidRequest('the event type goes in the X-Event-Type header', 'x-event-type');
  }
  if (values.some((value) => typeof value !== 'string' || value !== first) || first === '') {
    throw invalidRequest('one non-empty X-Event-Type header', 'x-event-type');
  }
  return first as string;
}

/** The key segments after the stream name (`/streams/account_events/123` → `["123"]`). */
function pathValuesOf(rest: string | undefined): readonly string[] {
  if (rest === undefined || rest === '') return [];
  const values = rest.split('/');
  if (values.length > pathKeysMax) {
    throw invalidRequest(`at most ${pathKeysMax} key segments after the stream`, 'path');
  }
  if (values.some((value) => value === '')) {
    throw invalidRequest('a key segment of the path is empty', 'path');
  }
  return values;
}

/** `X-Event-Id` (a retry with the same id is refused as a duplicate) and `X-Expected-Revision`. */
function optionalHeaders(request: FastifyRequest): {
  id?: string;
  expected?: ExpectedRevision;
} {
  const id = request.headers['x-event-id'];
  const expected = request.headers['x-expected-revision'];
  if (id !== undefined && (typeof id !== 'string' || !eventIdPattern.test(id))) {
    throw invalidRequest('1 to 256 visible ASCII characters', 'x-event-id');
  }
  return {
    ...(id === undefined ? {} : { id }),
    ...(expected === undefined ? {} : { expected: expectedOf(expected) }),
  };
}

function expectedOf(value: string | string[]): ExpectedRevision {
  if (value === 'any' || value === 'no_stream' || value === 'stream_exists') return value;
  if (typeof value === 'string' && /^\d{1,19}$/.test(value)) return BigInt(value);
  throw invalidRequest(
    'must be any, no_stream, stream_exists or a revision (0, 1, ...)',
    'x-expected-revision',
  );
}

function writeBody(result: TypedWriteResult): Record<string, unknown> {
  const { event } = result;
  return {
    stream: event.stream,
    revision: event.revision.toString(),
    position: event.position,
    id: event.id,
    type: event.type,
    schema_version: event.schemaVersion,
    recorded_at: event.recordedAt,
    created: result.created,
    data: event.data,
  };
}

interface SqlBody {
  readonly sql: string;
  readonly params: readonly Value[];
  readonly limit: number | undefined;
}

/** Checks a `POST /v1/sql` body `{ "sql": "...", "params": [...], "limit": N }`. */
function sqlRequestOf(body: unknown): SqlBody {
  if (!isPlainObject(body)) {
    throw invalidRequest(
      'the body is an object {"sql": "...", "params": [...], "limit": N}',
      'body',
    );
  }
  for (const key of Object.keys(body)) {
    if (key !== 'sql' && key !== 'params' && key !== 'limit') {
      throw invalidRequest(`unknown field ${JSON.stringify(key)}`, key);
    }
  }
  const { sql, params = [], limit } = body;
  if (typeof sql !== 'string' || sql.trim() === '' || sql.length > sqlTextLengthMax) {
    throw invalidRequest(`a non-empty string of at most ${sqlTextLengthMax} characters`, 'sql');
  }
  if (!Array.isArray(params) || params.length > sqlParamsMax) {
    throw invalidRequest(`an array of at most ${sqlParamsMax} values`, 'params');
  }
  if (limit !== undefined && (!Number.isSafeInteger(limit) || (limit as number) < 1)) {
    throw invalidRequest('a positive integer', 'limit');
  }
  return { sql, params: params as Value[], limit: limit as number | undefined };
}

/**
 * The change feeds over WebSockets (`GET /v1/aggregates/{name}/changes/ws`): the same messages as the SSE feed, one
 * JSON text frame each, `{ "type", "id", "data" }`, with `from` (there is no Last-Event-ID) and `key` as query
 * parameters.
 */
export function aggregateChangeWebSocketFeeds(definitions: DefinitionsEngine): WebSocketFeed[] {
  return aggregateChangesWebSocketPaths.map((url) => ({
    url,
    open: async (request, signal) => {
      const messages = await definitions.openChanges(
        {
          aggregate: request.params['name'] ?? '',
          from: request.query['from'],
          keys: request.query['key'],
        },
        signal,
      );
      return changeFrames(messages);
    },
  }));
}

async function* changeFrames(
  messages: AsyncIterable<AggregateChangeMessage>,
): AsyncGenerator<SubscriptionFrame> {
  for await (const message of messages) yield changeFrame(message);
}

/** One SSE frame per change feed message; a change carries its position as the id only where its event ends. */
export function formatChange(message: AggregateChangeMessage): string {
  return formatSseFrame(changeFrame(message));
}

/** The transport-neutral frame of a change feed message. */
export function changeFrame(message: AggregateChangeMessage): SubscriptionFrame {
  if (message.kind !== 'change') {
    return { name: message.kind, id: message.position, body: { position: message.position } };
  }
  const { change } = message;
  const body = {
    position: change.position,
    event_id: change.eventId,
    aggregate: change.aggregate,
    key: change.key,
    operation: change.operation,
    before: change.before,
    after: change.after,
  };
  return { name: 'change', id: message.isEventEnd ? change.position : null, body };
}

/** True for the route of a typed write, whose JSON body may have trailing commas (the seed's do). */
export function isTypedWritePath(url: string | undefined): boolean {
  return url !== undefined && (typedStreamPaths as readonly string[]).includes(url);
}
