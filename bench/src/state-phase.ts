// The state phase of the metering benchmark, on a fresh database holding `storedEvents` events: bulk load, the
// scheduler's sweep of the whole load after a crash, state query latency per cell (granularity x range) with everything swept and then with
// an unswept tail on the queried ("hot") principals, and a full rebuild of the pre-aggregates from an empty
// checkpoint by the running scheduler, verified against the model afterwards.
import type { AevonServer } from './aevon-server.js';
import { startAevonServer } from './aevon-server.js';
import type { EngineDatabase } from './engine-targets.js';
import type { HttpClient } from './http-client.js';
import { createHttpClient, expectStatus } from './http-client.js';
import type {
  EventColumns,
  RandomSource,
  StateCell,
  StateModel,
  StateQuery,
  WorkloadSpace,
} from './metering-workload.js';
import {
  batchJson,
  createStateModel,
  generateEvents,
  generateQueries,
  stateCells,
} from './metering-workload.js';
import type { LatencyMeasurement, Measurement } from './report.js';
import { latency, measure, time } from './report.js';

/** The sizes of one state phase. */
export interface StateSizes {
  readonly storedEvents: number;
  readonly principals: number;
  /** `occurred_at` spans this many days (more than 30, since the longest range is 30 days). */
  readonly days: number;
  /** Sequential queries per cell. */
  readonly queries: number;
  /** Events ingested right before the tail cells and left unswept. */
  readonly tailEvents: number;
  /** Principals holding the whole tail, and the only ones the tail cells query. */
  readonly hotPrincipals: number;
  /** Bulk load: events per batch request, and connections. */
  readonly loadBatchSize: number;
  readonly loadClients: number;
}

/** How the phase runs its servers. */
export interface StateEnvironment {
  readonly engine: string;
  readonly database: EngineDatabase;
  readonly workdir: string;
  readonly random: RandomSource;
  readonly startMs: number;
  /** The scheduler's interval while measuring: long enough that it never runs. */
  readonly idleCronInterval: string;
  /** The scheduler's interval during the rebuild: short, so that it starts at once. */
  readonly rebuildCronInterval: string;
  /** How often the rebuild's progress (the checkpoint) is read. */
  readonly rebuildPollMs: number;
  /** Run the rebuild step (false with `--no-rebuild`: the long runs skip it). */
  readonly rebuild: boolean;
  readonly startTimeoutMs: number;
  readonly stopTimeoutMs: number;
  /** Called with each row as it is measured. */
  readonly onRow: (row: object) => void;
}

/** What one state phase measured. */
export interface StatePhaseResult {
  /** Bulk load, sweep after a crash, rebuild. */
  readonly sweep: (Measurement & { storedEvents: number })[];
  /** One row per cell and tail state, and the verification after the rebuild. */
  readonly state: (LatencyMeasurement & StateRowFields)[];
  /** Backlog counts around each step, and the rebuild's timing details. */
  readonly details: Record<string, unknown>;
}

/** The columns every state row carries besides the percentiles. */
export interface StateRowFields {
  readonly storedEvents: number;
  readonly tailEvents: number;
  readonly granularity: string;
  readonly range: string;
  readonly principals: string;
}

/** Runs the whole state phase on `env.database` and returns its rows. */
export async function runStatePhase(
  env: StateEnvironment,
  sizes: StateSizes,
): Promise<StatePhaseResult> {
  const space: WorkloadSpace = {
    principals: sizes.principals,
    startMs: env.startMs,
    days: sizes.days,
  };
  // The hot principals, spread over the index range.
  const hotCount = Math.min(sizes.hotPrincipals, sizes.principals);
  const hot = Array.from({ length: hotCount }, (_, i) =>
    Math.floor((i * sizes.principals) / hotCount),
  );
  const model = createStateModel(sizes.principals);
  const phase: Phase = { env, sizes, space, hot, model };
  const loaded = await loadAndSweep(phase);
  const queried = await queryCells(phase);
  const rebuilt = env.rebuild ? await rebuild(phase, loaded.bulkLoad) : null;
  const sweepRows = [loaded.bulkLoad, loaded.sweep, ...(rebuilt === null ? [] : [rebuilt.row])];
  return {
    sweep: sweepRows.map((row) => ({ ...row, storedEvents: sizes.storedEvents })),
    state: [...queried.rows, ...(rebuilt === null ? [] : [rebuilt.verification])],
    details: {
      ...loaded.details,
      ...queried.details,
      ...(rebuilt === null ? { rebuild: 'skipped (--no-rebuild)' } : rebuilt.details),
      hotPrincipals: hot,
    },
  };
}

interface Phase {
  readonly env: StateEnvironment;
  readonly sizes: StateSizes;
  readonly space: WorkloadSpace;
  readonly hot: readonly number[];
  readonly model: StateModel;
}

function start(phase: Phase, cronInterval: string): Promise<AevonServer> {
  const { env } = phase;
  return startAevonServer({
    workdir: env.workdir,
    dsn: env.database.dsn,
    migrate: env.database.migrate,
    cronInterval,
    startTimeoutMs: env.startTimeoutMs,
  });
}

function printed<T extends object>(phase: Phase, row: T): T {
  phase.env.onRow(row);
  return row;
}

/** Loads the stored events with the scheduler idle, kills the server, and times the next start's sweep. */
async function loadAndSweep(phase: Phase) {
  const { env, sizes, space, model } = phase;
  const { probe } = env.database;
  const loader = await start(phase, env.idleCronInterval);
  const loaded = generateEvents(env.random, sizes.storedEvents, space);
  model.add(loaded, space.startMs);
  const loadSeconds = await loadEvents(loader.url, loaded, sizes, space.startMs);
  const bulkLoad = printed(
    phase,
    measure(
      env.engine,
      `bulk load: POST /v1/events/batch, ${sizes.loadBatchSize} events/request, ` +
        `${sizes.loadClients} connections`,
      loaded.count,
      loadSeconds,
    ),
  );
  // A crash, not a shutdown: no final sweep, so the scheduler of the next start folds the whole load (and every
  // acknowledged event must still be there, which the model checks on every answer).
  await loader.kill();
  const backlog = await probe.backlog();
  const sweeper = await sweepToHead(phase);
  await sweeper.server.stop(env.stopTimeoutMs);
  const sweep = printed(
    phase,
    measure(
      env.engine,
      `sweep: after a crash, the scheduler (${env.rebuildCronInterval}) folds the whole load`,
      backlog,
      sweeper.seconds,
      { name: 'bulk load (same run)', eventsPerSecond: loaded.count / loadSeconds },
    ),
  );
  return {
    bulkLoad,
    sweep,
    details: { backlogAfterCrash: backlog, sweepPolls: sweeper.polls },
  };
}

/**
 * Starts the server with a short scheduler interval and times the scheduler until the checkpoint reaches the log's
 * last event, polling it. The clock runs from the last poll that saw the checkpoint where it was at the start to the
 * first that saw the head (both within one poll interval). Returns the running server.
 */
async function sweepToHead(
  phase: Phase,
): Promise<{ server: AevonServer; seconds: number; polls: number }> {
  const { env } = phase;
  const { probe } = env.database;
  const head = await probe.head();
  const initial = await probe.checkpoint();
  const server = await start(phase, env.rebuildCronInterval);
  let lastUnmoved = performance.now();
  let polls = 0;
  const deadline = lastUnmoved + env.stopTimeoutMs;
  for (;;) {
    const polled = performance.now();
    const checkpoint = await probe.checkpoint();
    polls += 1;
    if (checkpoint === head) break;
    if (checkpoint === initial) lastUnmoved = polled;
    if (polled > deadline) {
      await server.stop(env.stopTimeoutMs);
      throw new Error(`the sweep did not reach ${head} in time: the checkpoint is ${checkpoint}`);
    }
    await new Promise((resolve) => setTimeout(resolve, env.rebuildPollMs));
  }
  return { server, seconds: (performance.now() - lastUnmoved) / 1000, polls };
}

/** Loads `columns` in batch requests from `loadClients` connections (bodies built as they go); returns seconds. */
async function loadEvents(
  url: string,
  columns: EventColumns,
  sizes: StateSizes,
  startMs: number,
): Promise<number> {
  const http = createHttpClient(url, sizes.loadClients);
  const batches = Math.ceil(columns.count / sizes.loadBatchSize);
  let next = 0;
  try {
    return await time(() =>
      Promise.all(
        Array.from({ length: sizes.loadClients }, async () => {
          for (let b = next; b < batches; b = next) {
            next += 1;
            const from = b * sizes.loadBatchSize;
            const to = Math.min(columns.count, from + sizes.loadBatchSize);
            await postBatch(http, batchJson('e', columns, from, to, startMs), to - from);
          }
        }),
      ).then(() => undefined),
    );
  } finally {
    http.close();
  }
}

async function postBatch(http: HttpClient, json: string, events: number): Promise<void> {
  const answer = await http.post('/v1/events/batch', json);
  expectStatus(answer, 200, 'POST /v1/events/batch');
  const { accepted } = JSON.parse(answer.body) as { accepted: number };
  if (accepted !== events) {
    throw new Error(
      `POST /v1/events/batch accepted ${accepted} of ${events}: ${answer.body.slice(0, 500)}`,
    );
  }
}

/**
 * Restarts the server (scheduler idle) and times every cell: first with everything swept (any principal; baseline
 * `GET /health`), then after `tailEvents` new events on the hot principals, which stay in the raw tail (hot
 * principals only; baseline the same cell all swept). Stopping the server at the end folds the tail.
 */
async function queryCells(phase: Phase) {
  const { env, sizes, space, model, hot } = phase;
  const server = await start(phase, env.idleCronInterval);
  const http = createHttpClient(server.url, 1);
  const rows: (LatencyMeasurement & StateRowFields)[] = [];
  try {
    // Warm-up (JIT, statement caches, page cache), not measured.
    await runCells(phase, http, Math.min(20, sizes.queries));

    const swept = await runCells(phase, http, sizes.queries, undefined, true);
    const healthBaseline = {
      name: 'GET /health, same server, 1 connection, interleaved',
      samplesMs: swept.healthMs,
    };
    for (const cell of stateCells) {
      const result = swept.byCell.get(cell) ?? emptyRun;
      rows.push(
        printed(phase, stateRow(phase, cell, 'all swept', result, healthBaseline, 0, 'any')),
      );
    }

    const tail = generateEvents(env.random, sizes.tailEvents, space, hot);
    model.add(tail, space.startMs);
    for (let from = 0; from < tail.count; from += 1_000) {
      const to = Math.min(tail.count, from + 1_000);
      await postBatch(http, batchJson('t', tail, from, to, space.startMs), to - from);
    }
    const tailBacklog = await env.database.probe.backlog();
    if (tailBacklog !== tail.count) {
      console.error(`warning: the tail holds ${tailBacklog} events, expected ${tail.count}`);
    }
    const withTail = await runCells(phase, http, sizes.queries, hot);
    for (const cell of stateCells) {
      const result = withTail.byCell.get(cell) ?? emptyRun;
      const baseline = {
        name: 'the same cell, all swept',
        samplesMs: swept.byCell.get(cell)?.samplesMs ?? [],
      };
      const label = `raw tail of ${tail.count} on ${hot.length} hot principals`;
      rows.push(printed(phase, stateRow(phase, cell, label, result, baseline, tailBacklog, 'hot')));
    }
    return { rows, details: { tailBacklog } };
  } finally {
    http.close();
    await server.stop(env.stopTimeoutMs);
  }
}

function stateRow(
  phase: Phase,
  cell: StateCell,
  state: string,
  result: QueryRun,
  baseline: { name: string; samplesMs: readonly number[] },
  tailEvents: number,
  principals: 'any' | 'hot',
): LatencyMeasurement & StateRowFields {
  const { env, sizes, hot } = phase;
  const shape =
    `GET /v1/state, ${cell.granularity} over ${cell.rangeName}, ` +
    `${sizes.storedEvents} events stored, ${state}`;
  return {
    ...latency(env.engine, shape, result.samplesMs, { baseline, ...result.check }),
    storedEvents: sizes.storedEvents,
    tailEvents,
    granularity: cell.granularity,
    range: cell.rangeName,
    principals: principals === 'any' ? `any of ${sizes.principals}` : `${hot.length} hot`,
  };
}

/**
 * Empties the metering tables with the server stopped, starts it with a short scheduler interval, and times the
 * scheduler's re-sweep of the whole log by polling the checkpoint until it reaches the log's last event. Then checks
 * `queries` state answers (random cells, half of them on the hot principals) against the model.
 */
async function rebuild(phase: Phase, bulkLoad: Measurement) {
  const { env, sizes, hot } = phase;
  const { probe } = env.database;
  const backlogBeforeReset = await probe.backlog();
  await probe.resetMetering();
  const events = await probe.backlog();
  const { server, seconds, polls } = await sweepToHead(phase);
  const backlogAfterRebuild = await probe.backlog();
  const row = printed(
    phase,
    measure(
      env.engine,
      `rebuild: the scheduler (${env.rebuildCronInterval}) re-sweeps the whole log from an empty checkpoint`,
      events,
      seconds,
      { name: 'bulk load (same run)', eventsPerSecond: bulkLoad.eventsPerSecond },
    ),
  );
  const http = createHttpClient(server.url, 1);
  try {
    const samplesMs: number[] = [];
    let mismatches = 0;
    for (let i = 0; i < sizes.queries; i += 1) {
      const cell = stateCells[Math.floor(env.random() * stateCells.length)] ?? stateCells[0];
      if (cell === undefined) break;
      const among = i % 2 === 0 ? hot : undefined;
      const [query] = generateQueries(env.random, 1, phase.space, cell, among);
      if (query === undefined) break;
      const sent = await sendQuery(phase, http, query);
      samplesMs.push(sent.ms);
      if (!sent.isMatch) mismatches += 1;
    }
    const verification = printed(phase, {
      ...latency(
        env.engine,
        `GET /v1/state after the rebuild, random cells, ${sizes.storedEvents} events stored`,
        samplesMs,
        { checked: samplesMs.length, mismatches },
      ),
      storedEvents: sizes.storedEvents,
      tailEvents: 0,
      granularity: 'random',
      range: 'random',
      principals: `any of ${sizes.principals}, half of the queries on the ${hot.length} hot`,
    });
    return {
      row,
      verification,
      details: {
        backlogBeforeReset,
        rebuildEvents: events,
        backlogAfterRebuild,
        rebuildPolls: polls,
        rebuildPollMs: env.rebuildPollMs,
      },
    };
  } finally {
    http.close();
    await server.stop(env.stopTimeoutMs);
  }
}

interface QueryRun {
  readonly samplesMs: number[];
  readonly check: { checked: number; mismatches: number };
}

const emptyRun: QueryRun = { samplesMs: [], check: { checked: 0, mismatches: 0 } };

/**
 * Sends `count` queries of every cell, interleaved (query i of each cell in turn, then query i + 1), so that
 * every cell sees the same conditions on a shared machine; with `health`, a `GET /health` after each round too.
 * Each round trip is timed until the whole body is read; answers are checked against the model outside the clock.
 */
async function runCells(
  phase: Phase,
  http: HttpClient,
  count: number,
  among?: readonly number[],
  health = false,
): Promise<{ byCell: Map<StateCell, QueryRun>; healthMs: number[] }> {
  const queries = stateCells.map((cell) =>
    generateQueries(phase.env.random, count, phase.space, cell, among),
  );
  const runs = stateCells.map(() => ({ samplesMs: [] as number[], mismatches: 0 }));
  const healthMs: number[] = [];
  for (let i = 0; i < count; i += 1) {
    for (let c = 0; c < stateCells.length; c += 1) {
      const query = queries[c]?.[i];
      const run = runs[c];
      if (query === undefined || run === undefined) continue;
      const sent = await sendQuery(phase, http, query);
      run.samplesMs.push(sent.ms);
      if (!sent.isMatch) run.mismatches += 1;
    }
    if (health) {
      const started = performance.now();
      const answer = await http.get('/health');
      healthMs.push(performance.now() - started);
      expectStatus(answer, 200, 'GET /health');
    }
  }
  const byCell = new Map<StateCell, QueryRun>();
  stateCells.forEach((cell, c) => {
    const run = runs[c] ?? { samplesMs: [], mismatches: 0 };
    byCell.set(cell, {
      samplesMs: run.samplesMs,
      check: { checked: run.samplesMs.length, mismatches: run.mismatches },
    });
  });
  return { byCell, healthMs };
}

let mismatchesPrinted = 0;

/** Sends one state query, times it, and checks its answer against the model (printing the first few mismatches). */
async function sendQuery(
  phase: Phase,
  http: HttpClient,
  query: StateQuery,
): Promise<{ ms: number; isMatch: boolean }> {
  const started = performance.now();
  const answer = await http.get(query.path);
  const ms = performance.now() - started;
  expectStatus(answer, 200, `GET ${query.path}`);
  const difference = phase.model.check(query, answer.body);
  if (difference !== null && mismatchesPrinted < 10) {
    mismatchesPrinted += 1;
    console.error(`mismatch: ${difference}`);
  }
  return { ms, isMatch: difference === null };
}
