// Ingest over HTTP: `POST /v1/events` (one event per request) and `POST /v1/events/batch`, each from 1 and from
// `clients` connections, against `aevon serve` and against the HTTP ceiling (a bare Fastify server in its own
// process that parses the JSON body and answers 202). Both get the same request bodies from the same client, the
// ceiling right before the real server, so the ratio is "the fraction of the HTTP ceiling this machine reaches".
import type { HttpAnswer, HttpClient } from './http-client.js';
import { expectStatus } from './http-client.js';
import type { RandomSource, WorkloadSpace } from './metering-workload.js';
import { batchJson, eventJson, generateEvents } from './metering-workload.js';
import { percentiles, round } from './report.js';

/** How many requests each ingest shape sends. */
export interface IngestSizes {
  /** Connections of the concurrent shapes. */
  readonly clients: number;
  /** Single-event requests from one connection. */
  readonly singleRequests: number;
  /** Single-event requests per connection, from `clients` connections. */
  readonly singleRequestsPerClient: number;
  /** Events per batch request. */
  readonly batchSize: number;
  /** Batch requests from one connection. */
  readonly batchRequests: number;
  /** Batch requests per connection, from `clients` connections. */
  readonly batchRequestsPerClient: number;
}

/** One ingest shape on one engine, next to the ceiling under the same shape. */
export interface IngestMeasurement {
  readonly engine: string;
  readonly shape: string;
  readonly route: string;
  readonly eventsPerRequest: number;
  readonly clients: number;
  readonly requests: number;
  readonly events: number;
  readonly seconds: number;
  readonly eventsPerSecond: number;
  /** Request latency (send to whole answer read), milliseconds. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly baseline: string;
  readonly baselineEventsPerSecond: number;
  readonly baselineP50Ms: number;
  readonly baselineP99Ms: number;
  /** eventsPerSecond / baselineEventsPerSecond: the fraction of the HTTP ceiling. */
  readonly ratio: number;
}

/** Where the ingest shapes send to. */
export interface IngestContext {
  readonly engine: string;
  /** A client of `aevon serve`, with at least `sizes.clients` sockets. */
  readonly aevon: HttpClient;
  /** A client of the ceiling server, with at least `sizes.clients` sockets. */
  readonly ceiling: HttpClient;
  readonly sizes: IngestSizes;
  readonly random: RandomSource;
  readonly space: WorkloadSpace;
  /** Called with each row as it is measured. */
  readonly onRow: (row: IngestMeasurement) => void;
}

interface Shape {
  readonly label: string;
  readonly route: '/v1/events' | '/v1/events/batch';
  readonly eventsPerRequest: number;
  readonly clients: number;
  readonly perClient: number;
}

/** Measures the four ingest shapes on the ceiling and on `aevon serve`, after a warm-up of both. */
export async function runIngestShapes(context: IngestContext): Promise<IngestMeasurement[]> {
  const { sizes } = context;
  const shapes: Shape[] = [
    {
      label: 'a',
      route: '/v1/events',
      eventsPerRequest: 1,
      clients: 1,
      perClient: sizes.singleRequests,
    },
    {
      label: 'b',
      route: '/v1/events',
      eventsPerRequest: 1,
      clients: sizes.clients,
      perClient: sizes.singleRequestsPerClient,
    },
    {
      label: 'c',
      route: '/v1/events/batch',
      eventsPerRequest: sizes.batchSize,
      clients: 1,
      perClient: sizes.batchRequests,
    },
    {
      label: 'd',
      route: '/v1/events/batch',
      eventsPerRequest: sizes.batchSize,
      clients: sizes.clients,
      perClient: sizes.batchRequestsPerClient,
    },
  ];
  // Warm-up (JIT, every pooled connection, first statements), not measured.
  for (const shape of shapes) {
    const warm = { ...shape, label: `w${shape.label}`, perClient: 2 };
    const bodies = requestBodies(context, warm);
    await sendAll(context.ceiling, warm, bodies, ceilingCheck);
    await sendAll(context.aevon, warm, bodies, aevonCheck(warm));
  }
  const rows: IngestMeasurement[] = [];
  for (const shape of shapes) {
    const bodies = requestBodies(context, shape);
    const ceiling = await sendAll(context.ceiling, shape, bodies, ceilingCheck);
    const aevon = await sendAll(context.aevon, shape, bodies, aevonCheck(shape));
    const row = ingestRow(context.engine, shape, aevon, ceiling);
    context.onRow(row);
    rows.push(row);
  }
  return rows;
}

function shapeName(shape: Shape): string {
  const events = shape.eventsPerRequest === 1 ? '1 event' : `${shape.eventsPerRequest} events`;
  const clients = `${shape.clients} connection${shape.clients === 1 ? '' : 's'}`;
  return `POST ${shape.route}, ${events}/request, ${clients}`;
}

function ingestRow(
  engine: string,
  shape: Shape,
  aevon: LoadResult,
  ceiling: LoadResult,
): IngestMeasurement {
  const requests = shape.clients * shape.perClient;
  const events = requests * shape.eventsPerRequest;
  const own = percentiles(aevon.samplesMs);
  const base = percentiles(ceiling.samplesMs);
  const eventsPerSecond = events / aevon.seconds;
  const baselineEventsPerSecond = events / ceiling.seconds;
  return {
    engine,
    shape: shapeName(shape),
    route: shape.route,
    eventsPerRequest: shape.eventsPerRequest,
    clients: shape.clients,
    requests,
    events,
    seconds: round(aevon.seconds, 4),
    eventsPerSecond: Math.round(eventsPerSecond),
    p50Ms: round(own.p50, 3),
    p99Ms: round(own.p99, 3),
    baseline: 'HTTP ceiling: bare Fastify, same shape, same bodies',
    baselineEventsPerSecond: Math.round(baselineEventsPerSecond),
    baselineP50Ms: round(base.p50, 3),
    baselineP99Ms: round(base.p99, 3),
    ratio: round(eventsPerSecond / baselineEventsPerSecond, 3),
  };
}

/** The request bodies of a shape, built before the timed part: one per request, ids `<label><i>`. */
function requestBodies(context: IngestContext, shape: Shape): string[] {
  const requests = shape.clients * shape.perClient;
  const columns = generateEvents(context.random, requests * shape.eventsPerRequest, context.space);
  const { startMs } = context.space;
  return Array.from({ length: requests }, (_, r) =>
    shape.eventsPerRequest === 1
      ? eventJson(`${shape.label}${r}`, columns, r, startMs)
      : batchJson(
          shape.label,
          columns,
          r * shape.eventsPerRequest,
          (r + 1) * shape.eventsPerRequest,
          startMs,
        ),
  );
}

interface LoadResult {
  readonly seconds: number;
  readonly samplesMs: number[];
}

type AnswerCheck = (answer: HttpAnswer) => void;

const ceilingCheck: AnswerCheck = (answer) => expectStatus(answer, 202, 'the ceiling server');

function aevonCheck(shape: Shape): AnswerCheck {
  if (shape.route === '/v1/events') {
    return (answer) => expectStatus(answer, 202, 'POST /v1/events');
  }
  return (answer) => {
    expectStatus(answer, 200, 'POST /v1/events/batch');
    const { accepted } = JSON.parse(answer.body) as { accepted: number };
    if (accepted !== shape.eventsPerRequest) {
      throw new Error(
        `POST /v1/events/batch accepted ${accepted} of ${shape.eventsPerRequest}: ${answer.body.slice(0, 500)}`,
      );
    }
  };
}

/**
 * Sends `bodies` from `shape.clients` loops at once (loop c sends bodies c × perClient to (c + 1) × perClient - 1,
 * one after another) and returns the wall time and each request's latency. Answers are checked after the clock.
 */
async function sendAll(
  http: HttpClient,
  shape: Shape,
  bodies: readonly string[],
  check: AnswerCheck,
): Promise<LoadResult> {
  const samplesMs: number[] = [];
  const answers: HttpAnswer[] = [];
  const started = performance.now();
  await Promise.all(
    Array.from({ length: shape.clients }, async (_, client) => {
      for (let i = 0; i < shape.perClient; i += 1) {
        const sent = performance.now();
        const answer = await http.post(shape.route, bodies[client * shape.perClient + i] ?? '');
        samplesMs.push(performance.now() - sent);
        // A failure is checked right away for a clear error; a success body is kept for the check below.
        if (answer.status >= 300) check(answer);
        answers.push(answer);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  for (const answer of answers) check(answer);
  return { seconds, samplesMs };
}
