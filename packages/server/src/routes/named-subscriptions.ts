import type { FastifyInstance } from 'fastify';
import type { NamedSubscriptionRecord } from '@aevon/core';
import type { MeteringEngine, NamedSubscriptionStatus } from '@aevon/engine';

/** The path of one named subscription (`PUT`, `GET`, `DELETE`). */
export const namedSubscriptionPath = '/v1/subscriptions/:name';
/** Where a consumer acknowledges its progress. */
export const namedSubscriptionAckPath = '/v1/subscriptions/:name/ack';
/**
 * The listing of named subscriptions. It cannot be `GET /v1/subscriptions`, which is the ad-hoc event stream; a
 * distinct noun keeps both unambiguous for clients, proxies and API key scopes.
 */
export const namedSubscriptionListPath = '/v1/named-subscriptions';
/** Body limit of the definition and acknowledgement requests: a filter is at most 3 × 32 values of 512 characters. */
export const namedSubscriptionBodyLimitBytes = 256 * 1024;

/**
 * Registers the definitions of durable named subscriptions (docs/reference/http.md, "Named subscriptions"):
 * `PUT /v1/subscriptions/{name}` creates (201) or updates (200), `GET` gives the definition and its lag, `DELETE`
 * removes it (204), `POST .../ack` moves the checkpoint forward (200), and `GET /v1/named-subscriptions` lists them.
 * Their event stream is `GET /v1/subscriptions/{name}/events` (routes/subscriptions.ts).
 */
export function registerNamedSubscriptionRoutes(
  app: FastifyInstance,
  engine: MeteringEngine,
): void {
  const named = engine.namedSubscriptions;
  const bodyLimit = namedSubscriptionBodyLimitBytes;
  app.put<{ Params: { name: string } }>(
    namedSubscriptionPath,
    { bodyLimit },
    async (request, reply) => {
      const { record, isCreated } = await named.put(request.params.name, request.body);
      if (isCreated) void reply.header('location', `/v1/subscriptions/${record.name}`);
      return reply.code(isCreated ? 201 : 200).send(recordBody(record));
    },
  );
  app.get<{ Params: { name: string } }>(namedSubscriptionPath, async (request, reply) =>
    reply.code(200).send(statusBody(await named.status(request.params.name))),
  );
  app.delete<{ Params: { name: string } }>(namedSubscriptionPath, async (request, reply) => {
    await named.delete(request.params.name);
    return reply.code(204).send();
  });
  app.post<{ Params: { name: string } }>(
    namedSubscriptionAckPath,
    { bodyLimit },
    async (request, reply) =>
      reply.code(200).send(recordBody(await named.ack(request.params.name, request.body))),
  );
  app.get(namedSubscriptionListPath, async (_request, reply) =>
    reply.code(200).send({ subscriptions: (await named.list()).map(recordBody) }),
  );
}

/** A named subscription as the HTTP API writes it (snake_case). */
export function recordBody(record: NamedSubscriptionRecord): Record<string, unknown> {
  return {
    name: record.name,
    filter: record.filter,
    position: record.position,
    created_at: record.createdAt,
    updated_at: record.updatedAt,
  };
}

function statusBody(status: NamedSubscriptionStatus): Record<string, unknown> {
  return {
    ...recordBody(status.record),
    head_position: status.headPosition,
    lag_events: status.lagEvents,
    lag_events_exact: status.isLagExact,
    lag_seconds: status.lagSeconds,
  };
}
