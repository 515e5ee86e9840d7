// Memory of `aevon serve` under overload, and its recovery: for each engine, a fresh server on a fresh database with
// a set admission limit (`server.requests_in_flight_max`), its resident set at idle after start (the baseline), then
// `--clients` connections sending single events back to back for `--duration` seconds, more than the server admits
// and more than the database commits, each refused request sent again at once (the worst case: no client honours
// Retry-After). Every `--sample-ms` the benchmark reads VmRSS from /proc/<pid>/status and the running counts of 202
// and 429 answers. Then the load drops to `--recovery-clients` connections for `--recovery-seconds`: the server must
// accept again without a restart. Linux only (/proc).
//
//   npm run bench:memory-overload                                    # 300 s per engine, sqlite and postgres
//   npm run bench:memory-overload -- --engines sqlite                # the 5-minute SQLite run
//   npm run bench:memory-overload -- --quick --engines sqlite        # about 3 s (the smoke test uses this)
//   node bench/dist/memory-overload.js --help
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { AevonServer } from './aevon-server.js';
import { startAevonServer, writeWorkdir } from './aevon-server.js';
import type { EngineTarget } from './engine-targets.js';
import { forEachEngine } from './engine-targets.js';
import type { HttpClient } from './http-client.js';
import { createHttpClient } from './http-client.js';
import type { EventColumns, WorkloadSpace } from './metering-workload.js';
import { benchRules, createRandomSource, eventJson, generateEvents } from './metering-workload.js';
import { mib, readProcMemory } from './proc-memory.js';
import { environment, round, writeReport } from './report.js';
import { runBench } from './run-bench.js';

interface Sizes {
  readonly durationSeconds: number;
  readonly clients: number;
  /** `server.requests_in_flight_max` of the server under test. */
  readonly inFlightMax: number;
  readonly recoverySeconds: number;
  readonly recoveryClients: number;
  readonly cronInterval: string;
  readonly sampleMs: number;
  readonly idleSettleMs: number;
}

const full: Sizes = {
  durationSeconds: 300,
  clients: 400,
  inFlightMax: 128,
  recoverySeconds: 10,
  recoveryClients: 4,
  cronInterval: '1m',
  sampleMs: 1_000,
  idleSettleMs: 2_000,
};
const quick: Sizes = {
  ...full,
  durationSeconds: 3,
  clients: 64,
  inFlightMax: 8,
  recoverySeconds: 1,
  cronInterval: '1s',
  sampleMs: 250,
  idleSettleMs: 500,
};

const seed = 20260213;
const workloadStartMs = Date.UTC(2026, 0, 1);
const space: WorkloadSpace = { principals: 1_000, startMs: workloadStartMs, days: 60 };
const poolEvents = 20_000;
const serverStartTimeoutMs = 60_000;
const serverStopTimeoutMs = 30 * 60_000;

const usage = `Usage: node bench/dist/memory-overload.js [options]

  --quick                about 3 s of overload per engine (the smoke test uses this)
  --engines LIST         sqlite,postgres (default both)
  --duration S           seconds of overload per engine (default 300)
  --clients N            connections sending single events back to back (default 400)
  --in-flight-max N      the server's server.requests_in_flight_max (default 128)
  --recovery-seconds S   seconds of light load after the overload (default 10)
  --recovery-clients N   connections of the light load (default 4)
  --cron-interval D      the scheduler's interval (default 1m; 1s with --quick)
  --sample-ms N          how often memory and answer counts are sampled (default 1000)
  --out DIR              results folder (default bench/results)
  --help                 this text

PostgreSQL as for the metering benchmark. Results: <out>/<date>-memory-overload.json and .md
(memory-overload-quick with --quick).`;

/** Answers of one phase, by kind. */
interface Counts {
  requests: number;
  accepted: number;
  refused: number;
  /** 429s without a Retry-After header (must stay 0). */
  refusedWithoutRetryAfter: number;
  /** Any other answer, or a failed request (must stay 0). */
  other: number;
  firstOther: string | null;
}

const newCounts = (): Counts => ({
  requests: 0,
  accepted: 0,
  refused: 0,
  refusedWithoutRetryAfter: 0,
  other: 0,
  firstOther: null,
});

/** One sample of the overload: seconds since it began, VmRSS, and the running answer counts. */
interface Sample {
  readonly seconds: number;
  readonly rssMiB: number;
  readonly accepted: number;
  readonly refused: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** `clients` connections post fresh single events back to back until `deadline`; every answer is counted. */
async function drive(
  http: HttpClient,
  clients: number,
  deadline: number,
  nextBody: () => string,
  counts: Counts,
): Promise<void> {
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < deadline) {
        counts.requests += 1;
        try {
          const answer = await http.post('/v1/events', nextBody());
          if (answer.status === 202) counts.accepted += 1;
          else if (answer.status === 429) {
            counts.refused += 1;
            if (answer.retryAfter === undefined) counts.refusedWithoutRetryAfter += 1;
          } else {
            counts.other += 1;
            counts.firstOther ??= `HTTP ${answer.status}: ${answer.body.slice(0, 300)}`;
          }
        } catch (error) {
          counts.other += 1;
          counts.firstOther ??= error instanceof Error ? error.message : String(error);
        }
      }
    }),
  );
}

/** The row of one engine. */
interface OverloadMeasurement {
  readonly engine: string;
  readonly clients: number;
  readonly inFlightMax: number;
  readonly seconds: number;
  readonly requests: number;
  readonly accepted: number;
  readonly refused: number;
  readonly refusedWithoutRetryAfter: number;
  readonly other: number;
  readonly firstOther: string | null;
  readonly acceptedPerSecond: number;
  readonly refusedShare: number;
  readonly idleRssMiB: number;
  readonly peakRssMiB: number;
  /** Highest VmRSS in the first and in the second half of the overload: no growth means bounded. */
  readonly firstHalfPeakRssMiB: number;
  readonly secondHalfPeakRssMiB: number;
  readonly endOfOverloadRssMiB: number;
  readonly hwmMiB: number;
  readonly peakRatio: number;
  readonly recoveryRequests: number;
  readonly recoveryAccepted: number;
  readonly recoveryRefused: number;
  readonly recoveryOther: number;
  readonly recoveryRssMiB: number;
  readonly backlogAtEnd: number;
  readonly shutdownSeconds: number;
}

async function measureOverload(
  target: EngineTarget,
  sizes: Sizes,
  workdir: string,
): Promise<{ row: OverloadMeasurement; samples: Sample[] }> {
  const database = await target.fresh('memory_overload');
  const server = await startAevonServer({
    workdir,
    ...database,
    cronInterval: sizes.cronInterval,
    startTimeoutMs: serverStartTimeoutMs,
    env: { AEVON_SERVER_REQUESTS_IN_FLIGHT_MAX: String(sizes.inFlightMax) },
  });
  let stopped = false;
  try {
    await sleep(sizes.idleSettleMs);
    const idle = readProcMemory(server.pid);
    const pool = generateEvents(createRandomSource(seed), poolEvents, space);
    const load = await overloadThenRecover(server, sizes, pool);
    const backlogAtEnd = await database.probe.backlog();
    stopped = true;
    const shutdown = await server.stop(serverStopTimeoutMs);
    const row = summarize(target.name, sizes, idle.vmRssKb, load, backlogAtEnd, shutdown.seconds);
    console.log(JSON.stringify(row));
    return { row, samples: load.samples };
  } finally {
    if (!stopped) await server.stop(serverStopTimeoutMs).catch(() => undefined);
  }
}

interface LoadResult {
  readonly seconds: number;
  readonly overload: Counts;
  readonly recovery: Counts;
  readonly samples: Sample[];
  readonly endOfOverloadRssKb: number;
  readonly recoveryRssKb: number;
  readonly hwmKb: number;
}

async function overloadThenRecover(
  server: AevonServer,
  sizes: Sizes,
  pool: EventColumns,
): Promise<LoadResult> {
  let next = 0;
  const nextBody = (): string => {
    next += 1;
    return eventJson(`o${next}`, pool, next % pool.count, workloadStartMs);
  };
  const overload = newCounts();
  const samples: Sample[] = [];
  const started = performance.now();
  const sample = (): void => {
    try {
      samples.push({
        seconds: round((performance.now() - started) / 1000, 1),
        rssMiB: mib(readProcMemory(server.pid).vmRssKb),
        accepted: overload.accepted,
        refused: overload.refused,
      });
    } catch {
      // The server died: its requests fail and are counted as `other`.
    }
  };
  const sampler = setInterval(sample, sizes.sampleMs);
  const http = createHttpClient(server.url, sizes.clients);
  try {
    await drive(http, sizes.clients, started + sizes.durationSeconds * 1000, nextBody, overload);
  } finally {
    clearInterval(sampler);
    http.close();
  }
  const seconds = (performance.now() - started) / 1000;
  sample();
  const endOfOverloadRssKb = readProcMemory(server.pid).vmRssKb;
  const recovery = newCounts();
  const light = createHttpClient(server.url, sizes.recoveryClients);
  try {
    const deadline = performance.now() + sizes.recoverySeconds * 1000;
    await drive(light, sizes.recoveryClients, deadline, nextBody, recovery);
  } finally {
    light.close();
  }
  const end = readProcMemory(server.pid);
  return {
    seconds,
    overload,
    recovery,
    samples,
    endOfOverloadRssKb,
    recoveryRssKb: end.vmRssKb,
    hwmKb: end.vmHwmKb,
  };
}

function summarize(
  engine: string,
  sizes: Sizes,
  idleRssKb: number,
  load: LoadResult,
  backlogAtEnd: number,
  shutdownSeconds: number,
): OverloadMeasurement {
  const { overload, recovery, samples } = load;
  const half = load.seconds / 2;
  const peakOf = (list: readonly Sample[]): number =>
    list.reduce((max, s) => Math.max(max, s.rssMiB), 0);
  const peakRssMiB = peakOf(samples);
  return {
    engine,
    clients: sizes.clients,
    inFlightMax: sizes.inFlightMax,
    seconds: round(load.seconds, 3),
    requests: overload.requests,
    accepted: overload.accepted,
    refused: overload.refused,
    refusedWithoutRetryAfter: overload.refusedWithoutRetryAfter,
    other: overload.other,
    firstOther: overload.firstOther ?? recovery.firstOther,
    acceptedPerSecond: Math.round(overload.accepted / load.seconds),
    refusedShare: round(overload.refused / Math.max(1, overload.requests), 3),
    idleRssMiB: mib(idleRssKb),
    peakRssMiB,
    firstHalfPeakRssMiB: peakOf(samples.filter((s) => s.seconds <= half)),
    secondHalfPeakRssMiB: peakOf(samples.filter((s) => s.seconds > half)),
    endOfOverloadRssMiB: mib(load.endOfOverloadRssKb),
    hwmMiB: mib(load.hwmKb),
    peakRatio: round(peakRssMiB / mib(idleRssKb), 2),
    recoveryRequests: recovery.requests,
    recoveryAccepted: recovery.accepted,
    recoveryRefused: recovery.refused,
    recoveryOther: recovery.other,
    recoveryRssMiB: mib(load.recoveryRssKb),
    backlogAtEnd,
    shutdownSeconds: round(shutdownSeconds, 3),
  };
}

function positiveInteger(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value <= 0)
    throw new Error(`${flag} must be a positive integer`);
  return value;
}

function parseSizes(values: Record<string, string | boolean | undefined>): Sizes {
  const base = values['quick'] === true ? quick : full;
  const int = (flag: string): number | undefined => {
    const value = values[flag];
    return positiveInteger(typeof value === 'string' ? value : undefined, `--${flag}`);
  };
  const cron = values['cron-interval'];
  return {
    ...base,
    durationSeconds: int('duration') ?? base.durationSeconds,
    clients: int('clients') ?? base.clients,
    inFlightMax: int('in-flight-max') ?? base.inFlightMax,
    recoverySeconds: int('recovery-seconds') ?? base.recoverySeconds,
    recoveryClients: int('recovery-clients') ?? base.recoveryClients,
    cronInterval: typeof cron === 'string' ? cron : base.cronInterval,
    sampleMs: int('sample-ms') ?? base.sampleMs,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      engines: { type: 'string', default: 'sqlite,postgres' },
      duration: { type: 'string' },
      clients: { type: 'string' },
      'in-flight-max': { type: 'string' },
      'recovery-seconds': { type: 'string' },
      'recovery-clients': { type: 'string' },
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
  const sizes = parseSizes(values);
  const config: Record<string, unknown> = {
    quick: values.quick,
    seed,
    sizes,
    rules: benchRules,
    server: `aevon serve (packages/cli/dist/bin.js), its own process, 127.0.0.1, port 0, AEVON_SERVER_REQUESTS_IN_FLIGHT_MAX=${sizes.inFlightMax}, other limits at their defaults`,
    client:
      'node:http keep-alive agent, one connection per client, single events back to back; a 429 is sent again at once',
    measured:
      'VmRSS and VmHWM of the server process from /proc/<pid>/status (not the database server)',
  };
  console.log(JSON.stringify(environment(config)));
  const rows: OverloadMeasurement[] = [];
  const series: { engine: string; sampleMs: number; samples: Sample[] }[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'aevon-bench-overload-'));
  try {
    await forEachEngine(
      values.engines.split(','),
      { dir, postgresStem: 'aevon_bench_overload' },
      async (target) => {
        const workdir = join(dir, `${target.name}-workdir`);
        writeWorkdir(workdir, benchRules);
        config[target.name] = target.config;
        const measured = await measureOverload(target, sizes, workdir);
        rows.push(measured.row);
        series.push({ engine: target.name, sampleMs: sizes.sampleMs, samples: measured.samples });
      },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const files = writeReport(
    values.out,
    values.quick ? 'memory-overload-quick' : 'memory-overload',
    environment(config),
    new Date().toISOString(),
    [
      {
        key: 'overload',
        title: 'Server memory and answers under overload, then under light load (recovery)',
        rows,
        columns: [
          ['engine', 'engine'],
          ['clients', 'clients'],
          ['in-flight max', 'inFlightMax'],
          ['seconds', 'seconds'],
          ['requests', 'requests'],
          ['202', 'accepted'],
          ['429', 'refused'],
          ['429 without Retry-After', 'refusedWithoutRetryAfter'],
          ['other', 'other'],
          ['202/s', 'acceptedPerSecond'],
          ['idle RSS MiB', 'idleRssMiB'],
          ['peak RSS MiB (1st half)', 'firstHalfPeakRssMiB'],
          ['peak RSS MiB (2nd half)', 'secondHalfPeakRssMiB'],
          ['VmHWM MiB', 'hwmMiB'],
          ['recovery 202', 'recoveryAccepted'],
          ['recovery 429', 'recoveryRefused'],
          ['recovery other', 'recoveryOther'],
          ['RSS after recovery MiB', 'recoveryRssMiB'],
        ],
      },
    ],
    { series },
  );
  console.log(`results: ${files.json} ${files.markdown}`);
}

await runBench('bench:memory-overload', main);
