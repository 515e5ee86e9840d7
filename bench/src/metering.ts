// The metering path end to end, over HTTP against a real `aevon serve` process on each engine:
//  - ingest: POST /v1/events and /v1/events/batch from 1 and 50 connections, each next to the HTTP ceiling (a bare
//    Fastify server in its own process) under the same shape, with p50/p99 request latency;
//  - state: GET /v1/state latency (p50/p99/p99.9) for granularity total/1h/1m over ranges of 1 hour, 1 day and 30
//    days, with N events stored, all swept and then with an unswept tail on the queried principals, every answer
//    checked against the benchmark's own model;
//  - sweep: the scheduler folding the whole load after a crash (SIGKILL), and a full rebuild of the pre-aggregates from an empty checkpoint by the
//    running scheduler, verified against the model afterwards.
//
//   npm run bench:metering                                # 1,000,000 stored events, sqlite and postgres
//   npm run bench:metering -- --quick                     # tiny sizes (the smoke test uses this)
//   npm run bench:metering -- --engines sqlite --events 100000,1000000 --queries 300
//   npm run bench:metering -- --events 10M                # the long run
//   node bench/dist/metering.js --help
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { AevonServer } from './aevon-server.js';
import { startAevonServer, startCeilingServer, writeWorkdir } from './aevon-server.js';
import type { EngineTarget } from './engine-targets.js';
import { forEachEngine } from './engine-targets.js';
import { createHttpClient } from './http-client.js';
import type { IngestMeasurement, IngestSizes } from './ingest-shapes.js';
import { runIngestShapes } from './ingest-shapes.js';
import type { RandomSource } from './metering-workload.js';
import { benchRules, createRandomSource, stateCells } from './metering-workload.js';
import { environment, writeReport } from './report.js';
import type { StatePhaseResult, StateSizes } from './state-phase.js';
import { runStatePhase } from './state-phase.js';
import { runBench } from './run-bench.js';

interface Sizes {
  readonly ingest: IngestSizes;
  /** One state phase per entry (`--events`), each on a fresh database. */
  readonly storedEvents: readonly number[];
  readonly state: Omit<StateSizes, 'storedEvents'>;
}

const full: Sizes = {
  ingest: {
    clients: 50,
    singleRequests: 2_000,
    singleRequestsPerClient: 60,
    batchSize: 100,
    batchRequests: 200,
    batchRequestsPerClient: 8,
  },
  storedEvents: [1_000_000],
  state: {
    principals: 1_000,
    days: 60,
    queries: 1_000,
    tailEvents: 10_000,
    hotPrincipals: 10,
    loadBatchSize: 1_000,
    loadClients: 4,
  },
};
const quick: Sizes = {
  ingest: {
    clients: 50,
    singleRequests: 30,
    singleRequestsPerClient: 2,
    batchSize: 100,
    batchRequests: 3,
    batchRequestsPerClient: 1,
  },
  storedEvents: [2_000],
  state: {
    principals: 20,
    days: 60,
    queries: 10,
    tailEvents: 200,
    hotPrincipals: 4,
    loadBatchSize: 500,
    loadClients: 4,
  },
};

const seed = 20260211;
/** The workload's first day; occurred_at lies in the `days` after it. */
const workloadStartMs = Date.UTC(2026, 0, 1);
const serverStartTimeoutMs = 60_000;
/** How long a sweep to the head, or a shutdown, may take: minutes for millions of events on a small machine. */
const serverStopTimeoutMs = 60 * 60_000;
/** The scheduler's interval while measuring: long enough that it never runs, so each figure measures one thing. */
const idleCronInterval = '1h';
const rebuildPollMs = 100;

const usage = `Usage: node bench/dist/metering.js [options]

  --quick                tiny sizes (2000 events, 20 principals, 10 queries per cell), for the smoke test
  --engines LIST         sqlite,postgres (default both)
  --events LIST          stored events of the state phase, one fresh database each: 100000,1000000 or 100k,1M,10M
                         (default 1000000)
  --queries N            sequential state queries per cell (default 1000)
  --tail N               events in the unswept tail (default 10000), all on the hot principals
  --hot N                hot principals: they hold the tail and the tail cells query only them (default 10)
  --principals N         principals of the stored events (default 1000)
  --days N               days of occurred_at the events spread over, more than 30 (default 60)
  --clients N            connections of the concurrent ingest shapes (default 50)
  --batch-size N         events per request of the batch ingest shapes (default 100)
  --rebuild-cron D       the scheduler's interval during the rebuild (default 1s)
  --no-rebuild           skip the rebuild step (for the long runs: 10M events)
  --out DIR              results folder (default bench/results)
  --help                 this text

PostgreSQL comes from AEVON_BENCH_POSTGRES_URL, else AEVON_TEST_POSTGRES_URL, else
postgres://postgres@127.0.0.1:5432/postgres; each phase creates its own database and drops it at the end.
Results: <out>/<date>-metering.json and .md (metering-quick with --quick).`;

/** A positive integer, optionally with a k or M suffix (`100k`, `10M`). */
function parseCount(text: string, flag: string): number {
  const match = /^(\d+)([kM]?)$/.exec(text.trim().replaceAll('_', ''));
  const factor = match?.[2] === 'k' ? 1_000 : match?.[2] === 'M' ? 1_000_000 : 1;
  const value = Number(match?.[1]) * factor;
  if (match === null || !Number.isSafeInteger(value) || value <= 0) {
    throw new Error(`${flag} must be a positive integer (such as 100000, 100k or 1M), not ${text}`);
  }
  return value;
}

function optionalCount(text: string | undefined, flag: string): number | undefined {
  return text === undefined ? undefined : parseCount(text, flag);
}

function parseSizes(values: Record<string, string | boolean | undefined>): Sizes {
  const base = values['quick'] === true ? quick : full;
  const flag = (name: string): string | undefined => {
    const value = values[name];
    return typeof value === 'string' ? value : undefined;
  };
  const events = flag('events');
  const sizes: Sizes = {
    ingest: {
      ...base.ingest,
      clients: optionalCount(flag('clients'), '--clients') ?? base.ingest.clients,
      batchSize: optionalCount(flag('batch-size'), '--batch-size') ?? base.ingest.batchSize,
    },
    storedEvents:
      events === undefined
        ? base.storedEvents
        : events.split(',').map((text) => parseCount(text, '--events')),
    state: {
      ...base.state,
      queries: optionalCount(flag('queries'), '--queries') ?? base.state.queries,
      tailEvents: optionalCount(flag('tail'), '--tail') ?? base.state.tailEvents,
      hotPrincipals: optionalCount(flag('hot'), '--hot') ?? base.state.hotPrincipals,
      principals: optionalCount(flag('principals'), '--principals') ?? base.state.principals,
      days: optionalCount(flag('days'), '--days') ?? base.state.days,
    },
  };
  if (sizes.state.days <= 30) throw new Error('--days must be more than 30 (ranges of 30 days)');
  return sizes;
}

/** Everything one engine measured. */
interface EngineResult {
  readonly ingest: IngestMeasurement[];
  readonly phases: StatePhaseResult[];
}

/** Ingest shapes on their own database, then one state phase per stored-event count. */
async function runEngine(
  target: EngineTarget,
  sizes: Sizes,
  workdir: string,
  ceilingServer: Promise<AevonServer>,
  rebuildCronInterval: string,
  rebuild: boolean,
): Promise<EngineResult> {
  const random: RandomSource = createRandomSource(seed);
  const database = await target.fresh('ingest');
  // The ceiling starts (once per run) while the first server starts.
  const [server, ceilingUrl] = await Promise.all([
    startAevonServer({
      workdir,
      ...database,
      cronInterval: idleCronInterval,
      startTimeoutMs: serverStartTimeoutMs,
    }),
    ceilingServer.then((started) => started.url),
  ]);
  const aevon = createHttpClient(server.url, sizes.ingest.clients);
  const ceiling = createHttpClient(ceilingUrl, sizes.ingest.clients);
  let ingest: IngestMeasurement[];
  try {
    ingest = await runIngestShapes({
      engine: target.name,
      aevon,
      ceiling,
      sizes: sizes.ingest,
      random,
      space: {
        principals: sizes.state.principals,
        startMs: workloadStartMs,
        days: sizes.state.days,
      },
      onRow: print,
    });
  } finally {
    aevon.close();
    ceiling.close();
    await server.stop(serverStopTimeoutMs);
  }
  const phases: StatePhaseResult[] = [];
  for (const storedEvents of sizes.storedEvents) {
    phases.push(
      await runStatePhase(
        {
          engine: target.name,
          database: await target.fresh(`state_${storedEvents}`),
          workdir,
          random,
          startMs: workloadStartMs,
          idleCronInterval,
          rebuildCronInterval,
          rebuildPollMs,
          rebuild,
          startTimeoutMs: serverStartTimeoutMs,
          stopTimeoutMs: serverStopTimeoutMs,
          onRow: print,
        },
        { ...sizes.state, storedEvents },
      ),
    );
  }
  return { ingest, phases };
}

/** Prints a row as it is measured, so that a long run shows progress. */
function print(row: object): void {
  console.log(JSON.stringify(row));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      engines: { type: 'string', default: 'sqlite,postgres' },
      events: { type: 'string' },
      queries: { type: 'string' },
      tail: { type: 'string' },
      hot: { type: 'string' },
      principals: { type: 'string' },
      days: { type: 'string' },
      clients: { type: 'string' },
      'batch-size': { type: 'string' },
      'rebuild-cron': { type: 'string' },
      'no-rebuild': { type: 'boolean', default: false },
      out: { type: 'string', default: join(process.cwd(), 'bench', 'results') },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(usage);
    return;
  }
  const sizes = parseSizes(values);
  const rebuildCronInterval = values['rebuild-cron'] ?? (values.quick ? '200ms' : '1s');
  const engines = values.engines.split(',');
  const config: Record<string, unknown> = {
    quick: values.quick,
    seed,
    sizes,
    stateCells: stateCells.map((cell) => `${cell.granularity} over ${cell.rangeName}`),
    rules: benchRules,
    workloadStart: new Date(workloadStartMs).toISOString(),
    server: 'aevon serve (packages/cli/dist/bin.js), its own process, 127.0.0.1, port 0',
    ceiling:
      'bench/dist/ceiling-server.js: bare Fastify, its own process, POST routes parse JSON and answer 202',
    client:
      'node:http keep-alive agent, in the benchmark process (client and servers share the CPUs)',
    cronInterval: `${idleCronInterval} (the scheduler never runs during a measurement)`,
    rebuildCronInterval,
    rebuildPollMs,
    rebuild: !values['no-rebuild'],
  };
  console.log(JSON.stringify(environment(config)));
  const ingest: IngestMeasurement[] = [];
  const phases: StatePhaseResult[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'aevon-bench-metering-'));
  const ceiling = startCeilingServer(serverStartTimeoutMs);
  // Its failure surfaces where it is awaited; until then it must not count as unhandled.
  ceiling.catch(() => undefined);
  try {
    await forEachEngine(engines, { dir, postgresStem: 'aevon_bench_metering' }, async (target) => {
      const workdir = join(dir, `${target.name}-workdir`);
      writeWorkdir(workdir, benchRules);
      const result = await runEngine(
        target,
        sizes,
        workdir,
        ceiling,
        rebuildCronInterval,
        !values['no-rebuild'],
      );
      ingest.push(...result.ingest);
      phases.push(...result.phases);
      config[target.name] = {
        ...target.config,
        phases: result.phases.map((phase, i) => ({
          storedEvents: sizes.storedEvents[i],
          ...phase.details,
        })),
      };
    });
  } finally {
    // A ceiling that failed to start has nothing to stop (and its error is the run's error already).
    await ceiling.then((started) => started.stop(serverStartTimeoutMs)).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
  const files = writeReport(
    values.out,
    values.quick ? 'metering-quick' : 'metering',
    environment(config),
    new Date().toISOString(),
    [
      {
        key: 'ingest',
        title: 'Ingest over HTTP, next to the HTTP ceiling (bare Fastify) under the same shape',
        rows: ingest,
        columns: [
          ['engine', 'engine'],
          ['shape', 'shape'],
          ['events', 'events'],
          ['events/s', 'eventsPerSecond'],
          ['p50 ms', 'p50Ms'],
          ['p99 ms', 'p99Ms'],
          ['ceiling events/s', 'baselineEventsPerSecond'],
          ['ceiling p50 ms', 'baselineP50Ms'],
          ['ceiling p99 ms', 'baselineP99Ms'],
          ['ratio to ceiling', 'ratio'],
        ],
      },
      {
        key: 'sweep',
        title: 'Bulk load, sweep at shutdown, rebuild by the scheduler',
        rows: phases.flatMap((phase) => phase.sweep),
        columns: [
          ['engine', 'engine'],
          ['stored', 'storedEvents'],
          ['shape', 'shape'],
          ['events', 'events'],
          ['seconds', 'seconds'],
          ['events/s', 'eventsPerSecond'],
          ['baseline', 'baseline'],
          ['baseline events/s', 'baselineEventsPerSecond'],
          ['ratio', 'ratio'],
        ],
      },
      {
        key: 'state',
        title: 'GET /v1/state latency, sequential queries from 1 connection',
        rows: phases.flatMap((phase) => phase.state),
        columns: [
          ['engine', 'engine'],
          ['stored', 'storedEvents'],
          ['granularity', 'granularity'],
          ['range', 'range'],
          ['unswept tail', 'tailEvents'],
          ['principals', 'principals'],
          ['queries', 'queries'],
          ['p50 ms', 'p50Ms'],
          ['p99 ms', 'p99Ms'],
          ['p99.9 ms', 'p999Ms'],
          ['max ms', 'maxMs'],
          ['mismatches', 'mismatches'],
          ['baseline', 'baseline'],
          ['baseline p50 ms', 'baselineP50Ms'],
          ['baseline p99 ms', 'baselineP99Ms'],
          ['ratio p50', 'ratioP50'],
          ['ratio p99', 'ratioP99'],
        ],
      },
    ],
  );
  console.log(`results: ${files.json} ${files.markdown}`);
}

await runBench('bench:metering', main);
