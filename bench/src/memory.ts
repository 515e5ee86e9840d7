// Memory of `aevon serve` under a sustained ingest at its maximum rate: for each engine, a fresh server on a fresh
// database, its resident set at idle after start (the baseline), then `--clients` connections sending batches of
// `--batch-size` events (or single events) back to back for `--duration` seconds, while the benchmark reads
// /proc/<pid>/status every `--sample-ms`: peak and final VmRSS, the kernel's high-water mark VmHWM, and the
// events/s sustained. The scheduler runs at its production default (1m) unless `--cron-interval` says otherwise,
// so the sweep's memory is part of the figure. Linux only (/proc).
//
//   npm run bench:memory                               # 300 s per engine and shape, sqlite and postgres
//   npm run bench:memory -- --quick                    # about 3 s per engine (the smoke test uses this)
//   npm run bench:memory -- --engines sqlite --duration 20 --shapes batch,single
//   node bench/dist/memory.js --help
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { AevonServer } from './aevon-server.js';
import { startAevonServer, writeWorkdir } from './aevon-server.js';
import type { EngineTarget } from './engine-targets.js';
import { forEachEngine } from './engine-targets.js';
import type { HttpAnswer } from './http-client.js';
import { createHttpClient, expectStatus } from './http-client.js';
import type { EventColumns, WorkloadSpace } from './metering-workload.js';
import { benchRules, createRandomSource, eventJson, generateEvents } from './metering-workload.js';
import { mib, readProcMemory } from './proc-memory.js';
import { environment, percentiles, round, writeReport } from './report.js';
import { runBench } from './run-bench.js';

type Shape = 'batch' | 'single';

interface Sizes {
  readonly durationSeconds: number;
  readonly clients: number;
  readonly batchSize: number;
  readonly shapes: readonly Shape[];
  readonly cronInterval: string;
  readonly sampleMs: number;
  /** How long the server idles after start before the baseline is read. */
  readonly idleSettleMs: number;
}

const full: Sizes = {
  durationSeconds: 300,
  clients: 50,
  batchSize: 100,
  shapes: ['batch'],
  cronInterval: '1m',
  sampleMs: 500,
  idleSettleMs: 2_000,
};
const quick: Sizes = { ...full, durationSeconds: 3, cronInterval: '1s', idleSettleMs: 500 };

const seed = 20260212;
const workloadStartMs = Date.UTC(2026, 0, 1);
const space: WorkloadSpace = { principals: 1_000, startMs: workloadStartMs, days: 60 };
/** Distinct event bodies the load cycles through (each sent with a fresh id). */
const poolEvents = 20_000;
const serverStartTimeoutMs = 60_000;
const serverStopTimeoutMs = 30 * 60_000;

const usage = `Usage: node bench/dist/memory.js [options]

  --quick                about 3 s of load per engine (the smoke test uses this)
  --engines LIST         sqlite,postgres (default both)
  --duration S           seconds of sustained ingest per engine and shape (default 300)
  --clients N            connections sending back to back (default 50)
  --batch-size N         events per request of the batch shape (default 100)
  --shapes LIST          batch and/or single (default batch): POST /v1/events/batch or POST /v1/events
  --cron-interval D      the scheduler's interval (default 1m, the server's default; 1s with --quick)
  --sample-ms N          how often /proc/<pid>/status is read (default 500)
  --out DIR              results folder (default bench/results)
  --help                 this text

PostgreSQL as for the metering benchmark. Results: <out>/<date>-memory.json and .md (memory-quick with --quick).`;

/** One engine and shape. */
interface MemoryMeasurement {
  readonly engine: string;
  readonly shape: string;
  readonly clients: number;
  readonly eventsPerRequest: number;
  readonly cronInterval: string;
  readonly seconds: number;
  readonly requests: number;
  readonly events: number;
  readonly eventsPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** VmRSS after start, idle: the baseline. */
  readonly idleRssMiB: number;
  readonly peakRssMiB: number;
  /** VmRSS right after the load stopped. */
  readonly finalRssMiB: number;
  /** VmHWM right after the load stopped: the peak RSS the kernel saw, between samples too. */
  readonly hwmMiB: number;
  readonly peakRatio: number;
  readonly finalRatio: number;
  readonly hwmRatio: number;
  readonly samples: number;
  /** Events not yet swept when the load stopped (the final sweep at shutdown folds them). */
  readonly backlogAtEnd: number;
  readonly shutdownSeconds: number;
}

interface Series {
  readonly engine: string;
  readonly shape: string;
  readonly sampleMs: number;
  /** VmRSS in MiB, one per sample from the start of the load. */
  readonly rssMiB: number[];
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function measureShape(
  target: EngineTarget,
  shape: Shape,
  sizes: Sizes,
  workdir: string,
): Promise<{ row: MemoryMeasurement; series: Series }> {
  const database = await target.fresh(`memory_${shape}`);
  const server = await startAevonServer({
    workdir,
    ...database,
    cronInterval: sizes.cronInterval,
    startTimeoutMs: serverStartTimeoutMs,
  });
  let stopped = false;
  try {
    await sleep(sizes.idleSettleMs);
    const idle = readProcMemory(server.pid);
    const pool = generateEvents(createRandomSource(seed), poolEvents, space);
    const rssKb: number[] = [];
    const sampler = setInterval(() => {
      try {
        rssKb.push(readProcMemory(server.pid).vmRssKb);
      } catch {
        // The server died: the load fails on its next request and says why.
      }
    }, sizes.sampleMs);
    let load: LoadResult;
    try {
      load = await sustain(server, shape, sizes, pool);
    } finally {
      clearInterval(sampler);
    }
    const end = readProcMemory(server.pid);
    rssKb.push(end.vmRssKb);
    const backlogAtEnd = await database.probe.backlog();
    stopped = true;
    const shutdown = await server.stop(serverStopTimeoutMs);
    const latency = percentiles(load.samplesMs);
    const peakKb = Math.max(...rssKb);
    const eventsPerRequest = shape === 'batch' ? sizes.batchSize : 1;
    const row: MemoryMeasurement = {
      engine: target.name,
      shape:
        shape === 'batch'
          ? `POST /v1/events/batch, ${sizes.batchSize} events/request, ${sizes.clients} connections`
          : `POST /v1/events, 1 event/request, ${sizes.clients} connections`,
      clients: sizes.clients,
      eventsPerRequest,
      cronInterval: sizes.cronInterval,
      seconds: round(load.seconds, 3),
      requests: load.requests,
      events: load.requests * eventsPerRequest,
      eventsPerSecond: Math.round((load.requests * eventsPerRequest) / load.seconds),
      p50Ms: round(latency.p50, 3),
      p99Ms: round(latency.p99, 3),
      idleRssMiB: mib(idle.vmRssKb),
      peakRssMiB: mib(peakKb),
      finalRssMiB: mib(end.vmRssKb),
      hwmMiB: mib(end.vmHwmKb),
      peakRatio: round(peakKb / idle.vmRssKb, 2),
      finalRatio: round(end.vmRssKb / idle.vmRssKb, 2),
      hwmRatio: round(end.vmHwmKb / idle.vmRssKb, 2),
      samples: rssKb.length,
      backlogAtEnd,
      shutdownSeconds: round(shutdown.seconds, 3),
    };
    console.log(JSON.stringify(row));
    return {
      row,
      series: {
        engine: target.name,
        shape: row.shape,
        sampleMs: sizes.sampleMs,
        rssMiB: rssKb.map(mib),
      },
    };
  } finally {
    if (!stopped) await server.stop(serverStopTimeoutMs).catch(() => undefined);
  }
}

interface LoadResult {
  readonly seconds: number;
  readonly requests: number;
  readonly samplesMs: number[];
}

/**
 * `clients` connections send back to back until `durationSeconds` have passed: each request built right before it
 * is sent, from the pool's bodies with fresh ids (`m<n>`), so that every event is new to the server.
 */
async function sustain(
  server: AevonServer,
  shape: Shape,
  sizes: Sizes,
  pool: EventColumns,
): Promise<LoadResult> {
  const http = createHttpClient(server.url, sizes.clients);
  const samplesMs: number[] = [];
  let next = 0;
  const body = (): string => {
    if (shape === 'single') {
      next += 1;
      return eventJson(`m${next}`, pool, next % pool.count, workloadStartMs);
    }
    const parts: string[] = [];
    for (let i = 0; i < sizes.batchSize; i += 1) {
      next += 1;
      parts.push(eventJson(`m${next}`, pool, next % pool.count, workloadStartMs));
    }
    return `[${parts.join(',')}]`;
  };
  const check = (answer: HttpAnswer): void => {
    if (shape === 'single') {
      expectStatus(answer, 202, 'POST /v1/events');
      return;
    }
    expectStatus(answer, 200, 'POST /v1/events/batch');
    const { accepted } = JSON.parse(answer.body) as { accepted: number };
    if (accepted !== sizes.batchSize) {
      throw new Error(`POST /v1/events/batch accepted ${accepted} of ${sizes.batchSize}`);
    }
  };
  const route = shape === 'single' ? '/v1/events' : '/v1/events/batch';
  const started = performance.now();
  const deadline = started + sizes.durationSeconds * 1000;
  let requests = 0;
  try {
    await Promise.all(
      Array.from({ length: sizes.clients }, async () => {
        while (performance.now() < deadline) {
          const json = body();
          const sent = performance.now();
          const answer = await http.post(route, json);
          samplesMs.push(performance.now() - sent);
          check(answer);
          requests += 1;
        }
      }),
    );
  } finally {
    http.close();
  }
  return { seconds: (performance.now() - started) / 1000, requests, samplesMs };
}

function positiveInteger(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value <= 0)
    throw new Error(`${flag} must be a positive integer`);
  return value;
}

function parseShapes(text: string | undefined): Shape[] | undefined {
  if (text === undefined) return undefined;
  return text.split(',').map((shape) => {
    if (shape !== 'batch' && shape !== 'single') {
      throw new Error(`--shapes takes batch and/or single, not ${shape}`);
    }
    return shape;
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      engines: { type: 'string', default: 'sqlite,postgres' },
      duration: { type: 'string' },
      clients: { type: 'string' },
      'batch-size': { type: 'string' },
      shapes: { type: 'string' },
      'cron-interval': { type: 'string' },
      'sample-ms': { type: 'string' },
      out: { type: 'string', default: join(process.cwd(), 'bench', 'results') },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(usage);
    return;
  }
  if (!existsSync('/proc/self/status'))
    throw new Error('the memory benchmark reads /proc: Linux only');
  const base = values.quick ? quick : full;
  const sizes: Sizes = {
    ...base,
    durationSeconds: positiveInteger(values.duration, '--duration') ?? base.durationSeconds,
    clients: positiveInteger(values.clients, '--clients') ?? base.clients,
    batchSize: positiveInteger(values['batch-size'], '--batch-size') ?? base.batchSize,
    shapes: parseShapes(values.shapes) ?? base.shapes,
    cronInterval: values['cron-interval'] ?? base.cronInterval,
    sampleMs: positiveInteger(values['sample-ms'], '--sample-ms') ?? base.sampleMs,
  };
  const config: Record<string, unknown> = {
    quick: values.quick,
    seed,
    sizes,
    rules: benchRules,
    server: 'aevon serve (packages/cli/dist/bin.js), its own process, 127.0.0.1, port 0',
    client:
      'node:http keep-alive agent, in the benchmark process (client and server share the CPUs)',
    measured:
      'VmRSS and VmHWM of the server process from /proc/<pid>/status (not the database server)',
  };
  console.log(JSON.stringify(environment(config)));
  const rows: MemoryMeasurement[] = [];
  const series: Series[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'aevon-bench-memory-'));
  try {
    await forEachEngine(
      values.engines.split(','),
      { dir, postgresStem: 'aevon_bench_memory' },
      async (target) => {
        const workdir = join(dir, `${target.name}-workdir`);
        writeWorkdir(workdir, benchRules);
        config[target.name] = target.config;
        for (const shape of sizes.shapes) {
          const measured = await measureShape(target, shape, sizes, workdir);
          rows.push(measured.row);
          series.push(measured.series);
        }
      },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const files = writeReport(
    values.out,
    values.quick ? 'memory-quick' : 'memory',
    environment(config),
    new Date().toISOString(),
    [
      {
        key: 'memory',
        title: 'Server memory under sustained ingest (ratios: to the idle VmRSS after start)',
        rows,
        columns: [
          ['engine', 'engine'],
          ['shape', 'shape'],
          ['seconds', 'seconds'],
          ['events', 'events'],
          ['events/s', 'eventsPerSecond'],
          ['p50 ms', 'p50Ms'],
          ['p99 ms', 'p99Ms'],
          ['idle RSS MiB', 'idleRssMiB'],
          ['peak RSS MiB', 'peakRssMiB'],
          ['final RSS MiB', 'finalRssMiB'],
          ['VmHWM MiB', 'hwmMiB'],
          ['peak / idle', 'peakRatio'],
          ['final / idle', 'finalRatio'],
          ['VmHWM / idle', 'hwmRatio'],
          ['unswept at end', 'backlogAtEnd'],
        ],
      },
    ],
    { series },
  );
  console.log(`results: ${files.json} ${files.markdown}`);
}

await runBench('bench:memory', main);
