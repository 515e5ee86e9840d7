import type { FastifyInstance } from 'fastify';
import type { BatchItemResult, MeteringEngine } from '@aevon/engine';
import { AevonError, invalidRequest, isPlainObject } from '@aevon/core';

/** The body of a batch ingest answer: one result per event in input order, plus the counts by status. */
export interface BatchResponse {
  readonly results: readonly BatchItemResult[];
  readonly accepted: number;
  readonly duplicates: number;
  readonly rejected: number;
}

/** What {@link registerEventRoutes} needs. */
export interface EventRoutesOptions {
  readonly engine: MeteringEngine;
  /** Body limit of `POST /v1/events` and `POST /v1/ingest`. */
  readonly bodyLimitBytes: number;
  /** Body limit of `POST /v1/events/batch`. */
  readonly batchBodyLimitBytes: number;
  /** Events in one batch request; more is `AEV_APPEND_BATCH_TOO_LARGE`. */
  readonly batchEventsMax: number;
}

/**
 * Registers the write path: `POST /v1/events` and its alias `POST /v1/ingest` (one envelope → 202
 * `{"status":"accepted"}`, or a JSON array → the batch answer), and `POST /v1/events/batch` (an array or
 * `{"events": [...]}` → 200 {@link BatchResponse}).
 */
export function registerEventRoutes(app: FastifyInstance, options: EventRoutesOptions): void {
  const { engine, batchEventsMax } = options;
  const ingestBatch = async (items: readonly unknown[]): Promise<BatchResponse> => {
    if (items.length === 0) throw invalidRequest('a batch must hold at least one event', 'events');
    if (items.length > batchEventsMax) {
      throw new AevonError('AEV_APPEND_BATCH_TOO_LARGE', {
        count: items.length,
        max: batchEventsMax,
      });
    }
    const results = await engine.ingestBatch(items);
    // Nothing could be written (the database is down): one 503 with Retry-After, as for a single event, so that a
    // client that retries on 503 retries the whole batch; otherwise each item says what became of it.
    const unavailable = results.filter(
      (result) => result.status === 'rejected' && result.code === 'AEV_STORAGE_UNAVAILABLE',
    );
    const [first] = unavailable;
    if (
      first !== undefined &&
      first.status === 'rejected' &&
      unavailable.length === results.length
    ) {
      throw new AevonError('AEV_STORAGE_UNAVAILABLE', {
        reason: `no event of the batch could be written: ${first.detail}`,
      });
    }
    return summarize(results);
  };
  for (const url of ['/v1/events', '/v1/ingest']) {
    app.post(url, { bodyLimit: options.bodyLimitBytes }, async (request, reply) => {
      if (Array.isArray(request.body)) return reply.code(200).send(await ingestBatch(request.body));
      await engine.ingest(request.body);
      return reply.code(202).send({ status: 'accepted' });
    });
  }
  app.post(
    '/v1/events/batch',
    { bodyLimit: options.batchBodyLimitBytes },
    async (request, reply) => {
      return reply.code(200).send(await ingestBatch(batchItems(request.body)));
    },
  );
}

/** The events of a batch body: a JSON array, or an object whose `events` is one. */
function batchItems(body: unknown): readonly unknown[] {
  if (Array.isArray(body)) return body;
  if (isPlainObject(body)) {
    const events = body['events'];
    if (Array.isArray(events)) return events;
  }
  throw invalidRequest(
    'the body must be a JSON array of events or an object {"events": [...]}',
    'events',
  );
}

/** Counts a batch's results by status. */
function summarize(results: readonly BatchItemResult[]): BatchResponse {
  let accepted = 0;
  let duplicates = 0;
  let rejected = 0;
  for (const result of results) {
    if (result.status === 'accepted') accepted += 1;
    else if (result.status === 'duplicate') duplicates += 1;
    else rejected += 1;
  }
  return { results, accepted, duplicates, rejected };
}
